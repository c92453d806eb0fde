// Route plumbing shared by every handler in app/api: method dispatch with JSON 405s,
// body parsing with limits, and the one place errors become responses.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { isDatabaseUnavailable, OUTAGE_RETRY_AFTER_SECONDS, reportDatabaseError, UNAVAILABLE_MESSAGE } from "@/db/outage";
import { logger } from "@/lib/log";
import { ApiError, codeForStatus, errorBody } from "./errors";

export const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type Method = (typeof METHODS)[number];

export type Params = Record<string, string | string[] | undefined>;
export interface RouteContext {
  params: Promise<Params>;
}
export interface HandlerContext {
  params: Params;
  requestId: string;
}
export type Handler = (req: Request, ctx: HandlerContext) => Promise<Response>;
type NextHandler = (req: Request, ctx: RouteContext) => Promise<Response>;

export const MAX_BODY_BYTES = 1024 * 1024;

export function json(body: unknown, init: ResponseInit = {}): Response {
  const headers = new Headers(init.headers);
  headers.set("Content-Type", "application/json; charset=utf-8");
  if (!headers.has("Cache-Control")) headers.set("Cache-Control", "no-store");
  return new Response(JSON.stringify(body), { ...init, headers });
}

/** better-auth's APIError, recognised by shape (lib/http stays free of auth imports). */
function fromAuthError(err: unknown): ApiError | null {
  const e = err as { name?: unknown; statusCode?: unknown; body?: { message?: unknown } };
  if (e?.name !== "APIError" || typeof e.statusCode !== "number" || e.statusCode >= 500) return null;
  const message = typeof e.body?.message === "string" ? e.body.message : "The request was refused.";
  return new ApiError(codeForStatus(e.statusCode), message);
}

export function errorResponse(err: unknown, requestId: string): Response {
  err = fromAuthError(err) ?? err;
  if (isDatabaseUnavailable(err)) {
    reportDatabaseError(err); // logged once per outage, not once per request
    err = new ApiError(
      "unavailable",
      UNAVAILABLE_MESSAGE,
      { retryAfterSeconds: OUTAGE_RETRY_AFTER_SECONDS },
      { "Retry-After": String(OUTAGE_RETRY_AFTER_SECONDS) },
    );
  }
  if (err instanceof ApiError) {
    return json(errorBody(err.code, err.message, err.details), { status: err.status, headers: { ...err.headers, "X-Request-Id": requestId } });
  }
  logger().error({ err, requestId }, "unhandled error in route handler");
  return json(errorBody("internal_error", `Something went wrong on our side (request ${requestId}).`), {
    status: 500,
    headers: { "X-Request-Id": requestId },
  });
}

/**
 * Every method a route does not implement answers 405 JSON with an Allow header
 * (Next's own 405 has no body). Use as `export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({...})`.
 */
export function defineRoute(
  handlers: Partial<Record<Method, Handler>>,
  opts: {
    /** Runs first for every implemented method, before the body-size limit and the handler (auth included): throw an ApiError to answer instead. */
    before?: () => void;
  } = {},
): Record<Method, NextHandler> {
  const allow = METHODS.filter((m) => handlers[m]).join(", ");
  const out = {} as Record<Method, NextHandler>;
  for (const method of METHODS) {
    const handler = handlers[method];
    out[method] = async (req, ctx) => {
      const requestId = randomUUID();
      try {
        if (!handler) throw new ApiError("method_not_allowed", `${method} is not allowed here; use ${allow}.`, undefined, { Allow: allow });
        opts.before?.();
        // Every route, including those that ignore their body, refuses a declared body over the limit.
        if (Number(req.headers.get("content-length") ?? "0") > MAX_BODY_BYTES) {
          throw new ApiError("payload_too_large", `The request body is over ${MAX_BODY_BYTES} bytes.`);
        }
        return await handler(req, { params: (await ctx.params) ?? {}, requestId });
      } catch (err) {
        return errorResponse(err, requestId);
      }
    };
  }
  return out;
}

async function readBodyText(req: Request, limit: number): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) throw new ApiError("payload_too_large", `The request body is over ${limit} bytes.`);
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new ApiError("payload_too_large", `The request body is over ${limit} bytes.`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function issuesToDetails(error: z.ZodError) {
  return {
    // zod reports unknown keys on the object that holds them (path []), so a client
    // mapping errors to fields would get "(body)"; each unknown key is named as its own field.
    fields: error.issues.flatMap((i) =>
      i.code === "unrecognized_keys"
        ? i.keys.map((k) => ({ field: [...i.path, k].join("."), message: `unknown field "${k}"` }))
        : [{ field: i.path.join(".") || "(body)", message: i.message }],
    ),
  };
}

// Shape errors (a wrong type, an unknown or missing field) are 422; a value of the
// right type that is not acceptable (a port out of range, a malformed host) is 400.
const SHAPE_ISSUES = new Set(["invalid_type", "unrecognized_keys", "invalid_union"]);

export function validationError(error: z.ZodError): ApiError {
  const first = error.issues[0];
  const firstPath = first?.code === "unrecognized_keys" && first.keys[0] !== undefined ? [...first.path, first.keys[0]] : first?.path;
  const where = firstPath?.length ? `${firstPath.join(".")}: ` : "";
  const shape = error.issues.some((i) => SHAPE_ISSUES.has(i.code));
  return new ApiError(shape ? "validation_failed" : "invalid_field", `${where}${first?.message ?? "invalid body"}`, issuesToDetails(error));
}

/** Reads a JSON body: 400 when it is not JSON, 413 over 1 MiB, 422/400 (naming the field) when it does not fit `schema`. */
export async function readJson<S extends z.ZodType>(req: Request, schema: S, { optional = false } = {}): Promise<z.infer<S>> {
  const text = await readBodyText(req, MAX_BODY_BYTES);
  let value: unknown;
  if (text.trim() === "" && optional) value = {};
  else {
    try {
      value = JSON.parse(text);
    } catch {
      throw new ApiError("invalid_json", "The request body is not valid JSON.");
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}

/** Reads and validates query parameters; 422 naming the parameter at fault. */
export function readQuery<S extends z.ZodType>(req: Request, schema: S): z.infer<S> {
  const url = new URL(req.url);
  const parsed = schema.safeParse(Object.fromEntries(url.searchParams));
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}

export function param(ctx: HandlerContext, name: string): string {
  const v = ctx.params[name];
  return typeof v === "string" ? v : "";
}
