// The HTTP face of better-auth (/api/auth/*). Only the paths a browser needs are
// reachable, and they keep the same contract as every other route: a JSON 405 naming
// the allowed method, 413 over 1 MiB, 400 for a body that is not JSON, 422 naming an
// unknown or mistyped field, and errors as `{ error: { code, message, details? } }`.
// better-auth on its own accepted any body size, ignored unknown fields, answered a
// wrong type with 400 and used its own error shape.
import { z } from "zod";
import { appDb } from "@/db/client";
import { assertDatabaseReachable } from "@/db/outage";
import { hasForbiddenCharacters } from "@/lib/http/names";
import { ApiError, codeForStatus, errorBody } from "@/lib/http/errors";
import { config } from "@/lib/config";
import { limit, rateLimiter } from "@/lib/http/rate-limit";
import { json, readJson, type Handler } from "@/lib/http/route";
import { assertSameOrigin } from "./access";
import { auth } from "./auth";
import type { HttpAuthPath } from "./options";

export const AUTH_BASE_PATH = "/api/auth";

/** The paths that check a password: limited per client address, across instances. */
const PASSWORD_PATHS = new Set(["/sign-in/email", "/change-password"]);

interface AuthPath {
  method: "GET" | "POST";
  /** The body a POST must have (strict: unknown fields are refused). */
  body?: z.ZodType;
  /** An empty body counts as `{}`. */
  optionalBody?: boolean;
}

/** How each path better-auth serves over HTTP is held to the contract (the list itself is in ./options). */
export const AUTH_PATHS: Record<HttpAuthPath, AuthPath> = {
  "/sign-in/email": {
    method: "POST",
    body: z.strictObject({
      // A NUL reached the database as a query parameter and failed there.
      email: z
        .string()
        .max(254)
        .refine((v) => !hasForbiddenCharacters(v), "email must not contain control characters"),
      password: z.string().max(256),
      rememberMe: z.boolean().optional(),
      callbackURL: z.string().max(2048).optional(),
    }),
  },
  "/sign-out": { method: "POST", body: z.strictObject({}), optionalBody: true },
  "/change-password": {
    method: "POST",
    body: z.strictObject({
      currentPassword: z.string().max(256),
      newPassword: z.string().max(256),
      revokeOtherSessions: z.boolean().optional(),
    }),
  },
  "/get-session": { method: "GET" },
  "/ok": { method: "GET" },
  "/error": { method: "GET" },
};

/** Headers of better-auth's answer worth keeping on an error we rewrite (cookies, retry hints). */
const KEPT_ON_ERROR = ["set-cookie", "retry-after", "x-retry-after", "www-authenticate"];

async function asApiError(res: Response): Promise<Response> {
  const body = (await res.json().catch(() => null)) as { message?: unknown; code?: unknown } | null;
  const message = typeof body?.message === "string" && body.message ? body.message : `The request was refused (${res.status}).`;
  const reason = typeof body?.code === "string" ? body.code : undefined;
  const headers = new Headers();
  for (const name of KEPT_ON_ERROR) {
    if (name === "set-cookie") for (const c of res.headers.getSetCookie()) headers.append("Set-Cookie", c);
    else if (res.headers.has(name)) headers.set(name, res.headers.get(name)!);
  }
  const details: Record<string, unknown> = reason ? { reason } : {};
  // better-auth's limiter says X-Retry-After; our own limits (and HTTP) say Retry-After.
  const retry = Number(res.headers.get("x-retry-after"));
  if (res.status === 429 && retry > 0) {
    headers.set("Retry-After", String(retry));
    details.retryAfterSeconds = retry;
  }
  return json(errorBody(codeForStatus(res.status), message, Object.keys(details).length ? details : undefined), { status: res.status, headers });
}

/** `value` without any field named `token`, at any depth. */
function withoutTokens(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTokens);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== "token")
        .map(([k, v]) => [k, withoutTokens(v)]),
    );
  }
  return value;
}

/**
 * better-auth puts the session token in its JSON answers (sign-in, get-session,
 * change-password). The browser needs it only in the httpOnly cookie, where a
 * script (an XSS) cannot read it: it is taken out of every body.
 */
async function stripSessionTokens(res: Response): Promise<Response> {
  const body: unknown = await res.json().catch(() => undefined);
  const headers = new Headers(res.headers);
  headers.delete("content-length");
  return new Response(body === undefined ? null : JSON.stringify(withoutTokens(body)), { status: res.status, statusText: res.statusText, headers });
}

/** The one handler for every method on /api/auth/*; wrap it with defineRoute. */
export const authHandler: Handler = async (req) => {
  const url = new URL(req.url);
  const path = url.pathname.startsWith(AUTH_BASE_PATH) ? url.pathname.slice(AUTH_BASE_PATH.length) : "";
  const spec = (AUTH_PATHS as Record<string, AuthPath | undefined>)[path];
  if (!spec) throw new ApiError("not_found", "Not found.");
  if (req.method !== spec.method) {
    throw new ApiError("method_not_allowed", `${req.method} is not allowed here; use ${spec.method}.`, undefined, { Allow: spec.method });
  }
  let forward = req;
  if (spec.method === "POST") {
    // Cross-origin first, as on every other route (better-auth checks again).
    assertSameOrigin(req);
    if (PASSWORD_PATHS.has(path)) {
      // better-auth's own limiter counts in this process only; this one counts in
      // Postgres, so the limit holds across every instance (fails closed: 503).
      // server.ts leaves exactly one address in X-Forwarded-For: the client's.
      const ip = req.headers.get("x-forwarded-for")?.trim() || "unknown";
      await limit(rateLimiter("sign-in", config().auth.signInRate), ip, "sign-in attempts from this address");
    }
    const body = await readJson(req, spec.body ?? z.strictObject({}), { optional: spec.optionalBody ?? false });
    const headers = new Headers(req.headers);
    headers.delete("content-length");
    headers.set("content-type", "application/json");
    forward = new Request(req.url, { method: "POST", headers, body: JSON.stringify(body) });
  }
  const res = await (await auth()).handler(forward);
  if (res.status >= 500) {
    // better-auth answers its own failures with a bare 500 (sign-in with the database
    // gone has an empty body): a 503 when the database is the cause, a JSON 500 otherwise.
    await res.body?.cancel().catch(() => undefined);
    await assertDatabaseReachable(await appDb());
    throw new Error(`better-auth answered ${res.status} on ${path}`);
  }
  const isJson = res.headers.get("content-type")?.includes("application/json") ?? false;
  if (!isJson) return res;
  return res.status >= 400 ? asApiError(res) : stripSessionTokens(res);
};
