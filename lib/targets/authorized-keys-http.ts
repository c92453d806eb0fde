// GET /api/targets/{targetId}/authorized-keys?user=mesh on a lean path: server.ts
// answers it before Next's request pipeline, from the in-memory lookup
// (key-lookup.ts). Every sshd asks it at every login, so it must stay fast under a
// login storm and must not slow anyone else down. Same contract as every route:
// JSON errors, 401 alike for an unknown target and a wrong token, 413 over 1 MiB.
// Wrong tokens are limited per client address (429); right ones never are.
import { isDatabaseUnavailable, reportDatabaseError } from "@/db/outage";
import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { z } from "zod";
import type { Db } from "@/db/client";
import { rateLimiter, type Limiter } from "@/lib/http/rate-limit";
import { errorBody, type ErrorCode } from "@/lib/http/errors";
import { MAX_BODY_BYTES, validationError } from "@/lib/http/route";
import type { Logger } from "@/lib/log";
import { metrics } from "@/lib/metrics";
import { keyLookup } from "./key-lookup";
import { sshAccessLog } from "./ssh-access-log";
import { bearerToken } from "@/lib/http/bearer";

export const AUTHORIZED_KEYS_PATH = /^\/api\/targets\/([^/]+)\/authorized-keys$/;

// `client` and `fingerprint` are what the shipped drop-in has sshd pass (%C and %f):
// who is logging in, from where, with which key. Optional: older drop-ins pass only the user.
const query = z.object({ user: z.string().max(64), client: z.string().max(200).optional(), fingerprint: z.string().max(100).optional() });
type Query = z.infer<typeof query>;
const MAX_LENGTH: Record<keyof Query, number> = { user: 64, client: 200, fingerprint: 100 };

function decoded(v: string): string | null {
  if (!v.includes("%") && !v.includes("+")) return v;
  try {
    return decodeURIComponent(v.replaceAll("+", " "));
  } catch {
    return null;
  }
}

/**
 * The query of `url` read by hand, for the hot path: what `query` accepts, as URLSearchParams
 * reads it (the last of repeated names wins, others are ignored). Null for anything
 * out of the plain (an encoded name, a bad escape, a value too long, no user): the full
 * path then validates it with `query`, and answers a bad one with its 4xx.
 */
export function plainQuery(url: string): Query | null {
  const at = url.indexOf("?");
  if (at < 0 || url.includes("#")) return null;
  const out: Partial<Query> = {};
  for (const pair of url.slice(at + 1).split("&")) {
    const eq = pair.indexOf("=");
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (name !== "user" && name !== "client" && name !== "fingerprint") {
      if (name.includes("%") || name.includes("+")) return null;
      continue;
    }
    const value = decoded(eq < 0 ? "" : pair.slice(eq + 1));
    if (value === null || value.length > MAX_LENGTH[name]) return null;
    out[name] = value;
  }
  return out.user === undefined ? null : (out as Query);
}

/** sshd's %C: "client-address client-port server-address server-port". */
function clientOf(c: string | undefined): string | null {
  const m = /^([0-9A-Fa-f.:]{2,45}) (\d{1,5}) [0-9A-Fa-f.:]{2,45} \d{1,5}$/.exec(c ?? "");
  return m ? (m[1]!.includes(":") ? `[${m[1]}]:${m[2]}` : `${m[1]}:${m[2]}`) : null;
}

function fingerprintOf(f: string | undefined): string | null {
  return f && /^SHA256:[A-Za-z0-9+/]{43}$/.test(f) ? f : null;
}

const SECURITY_HEADERS = {
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
};

export interface Answer {
  status: number;
  body: string;
  headers: Record<string, string>;
}

const TEXT_HEADERS = { ...SECURITY_HEADERS, "Content-Type": "text/plain; charset=utf-8" };

function text(status: number, body: string): Answer {
  return { status, body, headers: TEXT_HEADERS };
}

function error(status: number, code: ErrorCode, message: string, details?: Record<string, unknown>, headers: Record<string, string> = {}): Answer {
  return {
    status,
    body: JSON.stringify(errorBody(code, message, details)),
    headers: { ...SECURITY_HEADERS, "Content-Type": "application/json; charset=utf-8", ...headers },
  };
}

/**
 * Wrong target tokens per client address, counted across instances on Postgres. Insured:
 * with its table unreachable it counts in this process's memory (lookups then fail
 * closed anyway, the database being gone).
 */
export function targetAuthFailureLimiter(rule: { max: number; windowSeconds: number }): Limiter {
  return rateLimiter("target-auth-failures", rule, { insured: true });
}

export interface AuthorizedKeysDeps {
  db: Db;
  /** MESHIA_TARGET_LIVE_WINDOW unless given (tests). */
  liveWindowMs?: number;
  failureRate: { max: number; windowSeconds: number };
  log: Logger;
}

const UNAUTHORIZED = "A valid target token is required (Authorization: Bearer …).";

export interface AuthorizedKeysRequest {
  targetId: string;
  /** The request's URL (path and query are read). */
  url: string;
  authorization: string | null | undefined;
  contentLength: string | null | undefined;
  /** Who is asking (server.ts decides whether a proxy's X-Forwarded-For is believed). */
  clientIp: string;
}

function tooMany(retry: number): Answer {
  return error(
    429,
    "rate_limited",
    `Too many requests with a wrong target token from this address; try again in ${retry} s.`,
    { retryAfterSeconds: retry },
    { "Retry-After": String(retry) },
  );
}

/** The answer to one lookup, framework-free: the lean path and the Next route both send it. */
export async function answerAuthorizedKeys(req: AuthorizedKeysRequest, deps: AuthorizedKeysDeps): Promise<Answer> {
  const t0 = performance.now();
  return counted(fromMemory(req, deps) ?? (await answer(req, deps)), t0);
}

function counted(a: Answer, t0: number): Answer {
  const m = metrics();
  m.keyLookupSeconds.observe((performance.now() - t0) / 1000);
  const result = a.status === 200 ? (a.body ? "served" : "none") : a.status === 401 ? "unauthorized" : a.status === 429 ? "limited" : "error";
  m.keyLookups.inc({ result });
  if (result === "limited") m.limitsHit.inc({ limit: "target-auth-failures" });
  return a;
}

/**
 * The hot path, synchronous: a token already seen to be the target's, for a target and
 * key in memory (key-lookup.ts `fromMemory`), and the 429 of an address over the
 * wrong-token limit. Null for everything else, which `answer` decides: unknown or wrong
 * tokens under the limit, a query out of the plain, anything to read.
 */
function fromMemory(req: AuthorizedKeysRequest, deps: AuthorizedKeysDeps): Answer | null {
  try {
    if (Number(req.contentLength ?? "0") > MAX_BODY_BYTES) return null;
    const q = plainQuery(req.url);
    if (!q) return null;
    const token = bearerToken(req.authorization);
    const lookup = keyLookup(deps.db, deps.liveWindowMs);
    const result = token ? lookup.fromMemory(req.targetId, token, q.user) : null;
    if (result?.ok) return served(result, q, deps);
    // An address over the wrong-token limit whose token memory can already tell is wrong
    // (or whose target is not cached): the 429 that `answer` would give, without a promise.
    const blocked = targetAuthFailureLimiter(deps.failureRate).blockedHere(deps.db, req.clientIp);
    return blocked && lookup.refusesFromMemory(req.targetId, token) ? tooMany(blocked) : null;
  } catch {
    return null; // `answer` tries again and reports it
  }
}

function served(result: { text: string; target: { id: string; workspaceId: string } }, q: Query, deps: AuthorizedKeysDeps): Answer {
  sshAccessLog(deps.db, deps.log).record({
    workspaceId: result.target.workspaceId,
    targetId: result.target.id,
    kind: "key-lookup",
    source: clientOf(q.client),
    user: q.user,
    fingerprint: fingerprintOf(q.fingerprint),
    result: result.text ? "served" : "none",
  });
  return text(200, result.text);
}

async function answer(req: AuthorizedKeysRequest, deps: AuthorizedKeysDeps): Promise<Answer> {
  try {
    if (Number(req.contentLength ?? "0") > MAX_BODY_BYTES) return error(413, "payload_too_large", `The request body is over ${MAX_BODY_BYTES} bytes.`);
    const parsed = query.safeParse(Object.fromEntries(new URL(req.url, "http://x").searchParams));
    if (!parsed.success) {
      const e = validationError(parsed.error);
      return error(e.status, e.code, e.message, e.details);
    }
    const token = bearerToken(req.authorization);
    const limiter = targetAuthFailureLimiter(deps.failureRate);
    const lookup = keyLookup(deps.db, deps.liveWindowMs);
    // An address that keeps sending wrong tokens is not let through to the database;
    // a token we can check from memory (a target already cached) is still checked.
    // Asked from memory only (right tokens never wait for the limit's table).
    const blocked = limiter.blockedHere(deps.db, req.clientIp);
    if (blocked && !lookup.isCached(req.targetId)) return tooMany(blocked);

    const result = await lookup.lookup(req.targetId, token, parsed.data.user);
    if (!result.ok) {
      const retry = blocked || (await limiter.consume(deps.db, req.clientIp));
      if (retry) return tooMany(retry);
      return error(401, "unauthorized", UNAUTHORIZED, undefined, { "WWW-Authenticate": 'Bearer realm="meshia-target"' });
    }
    return served(result, parsed.data, deps);
  } catch (err) {
    // Cannot tell who may log in: nobody does (sshd's script fails closed on a non-200).
    // A database outage is logged once (db/outage.ts), not at every login attempt.
    if (isDatabaseUnavailable(err)) reportDatabaseError(err);
    else deps.log.error({ err, target: req.targetId }, "authorized-keys lookup failed");
    return error(503, "unavailable", "Meshia cannot answer right now; try again shortly.", undefined, { "Retry-After": "5" });
  }
}

/** The lean path: answers straight on the Node response, before Next sees the request (at once when memory can). */
export function serveAuthorizedKeys(req: IncomingMessage, res: ServerResponse, targetId: string, clientIp: string, deps: AuthorizedKeysDeps): void {
  // A GET's body, if any, is ignored: Node's server drains whatever is left unread once the answer is sent.
  const t0 = performance.now();
  const r = { targetId, url: req.url ?? "/", authorization: req.headers.authorization, contentLength: req.headers["content-length"], clientIp };
  const known = fromMemory(r, deps);
  if (known) return send(res, counted(known, t0));
  void answer(r, deps).then((a) => send(res, counted(a, t0)));
}

function send(res: ServerResponse, a: Answer): void {
  res.writeHead(a.status, { ...a.headers, "Content-Length": Buffer.byteLength(a.body) });
  res.end(a.body);
}
