// Requests server.ts answers itself, ahead of Next's request pipeline: the key
// lookup every sshd makes at every login, the probes and metrics load balancers
// and Prometheus poll, and the 429 of a key generation whose caller is already over
// its limit. Each is cheap and must stay so under load.
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID, timingSafeEqual } from "node:crypto";
import type { Db } from "@/db/client";
import { readiness } from "@/lib/health";
import type { Logger } from "@/lib/log";
import { metrics } from "@/lib/metrics";
import { API_TOKEN_PREFIX } from "@/lib/auth/options";
import { verifiedTokens } from "@/lib/auth/verified-tokens";
import { recentSessions, sessionCookieValue } from "@/lib/auth/recent-sessions";
import { keygenRefusal } from "@/lib/keys/keygen-limits";
import { AUTHORIZED_KEYS_PATH, serveAuthorizedKeys } from "@/lib/targets/authorized-keys-http";
import { errorBody } from "@/lib/http/errors";
import { originAllowed } from "@/lib/http/origin";
import { bearerToken } from "@/lib/http/bearer";

export interface LeanDeps {
  db: Db;
  log: Logger;
  /** MESHIA_TARGET_LIVE_WINDOW unless given (tests). */
  liveWindowMs?: number;
  targetAuthFailureRate: { max: number; windowSeconds: number };
  /** Bearer token /metrics requires; without one, only loopback clients may read it. */
  metricsToken: string | undefined;
}

const HEADERS = { "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" };

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...HEADERS, "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function isLoopback(ip: string): boolean {
  return ip === "::1" || ip.startsWith("127.") || ip.startsWith("::ffff:127.");
}

function tokenOk(header: string | undefined, want: string): boolean {
  const got = Buffer.from(bearerToken(header) ?? "");
  const w = Buffer.from(want);
  return got.length === w.length && timingSafeEqual(got, w);
}

const KEY_PATH = /^\/api\/workspaces\/([^/]+)\/key$/;

/**
 * The person behind a POST /api/workspaces/{id}/key as far as this process knows
 * without asking anyone: an API token it verified a moment ago
 * (lib/auth/verified-tokens.ts: forgotten at once on revocation or removal) for this
 * very workspace, or else a session cookie it resolved a moment ago
 * (lib/auth/recent-sessions.ts). Null: unknown, and the route decides.
 */
function knownPerson(req: IncomingMessage, workspaceId: string): string | null {
  const token = bearerToken(req.headers.authorization);
  if (token) {
    if (!token.startsWith(API_TOKEN_PREFIX)) return null;
    const known = verifiedTokens().get(token);
    return known && known.workspaceId === workspaceId ? known.userId : null;
  }
  const cookie = sessionCookieValue(req.headers.cookie);
  return cookie ? recentSessions().personOf(cookie) : null;
}

/**
 * POST /api/workspaces/{id}/key, same-origin, from a person this process knows
 * (knownPerson) who is over a key-generation limit as far as memory knows: the
 * route's 429, answered here. Anything else (a token or cookie not remembered,
 * another workspace's token, a cross-origin request, a caller under the limits) goes
 * to the route, which checks everything. This only ever refuses, and only the person
 * already over a limit. Keyed on the person, never on the address: a flood refuses
 * its own author only, whatever X-Forwarded-For says.
 */
function refusedKeygen(req: IncomingMessage, res: ServerResponse, workspaceId: string, deps: LeanDeps): boolean {
  const person = knownPerson(req, workspaceId);
  if (!person) return false;
  const proto = req.headers["x-forwarded-proto"];
  if (!originAllowed(req.headers.origin ?? null, req.headers.host ?? null, typeof proto === "string" ? proto : null)) return false;
  const refusal = keygenRefusal(deps.db, workspaceId, person);
  if (!refusal) return false;
  json(res, refusal.status, errorBody(refusal.code, refusal.message, refusal.details), { ...refusal.headers, "X-Request-Id": randomUUID() });
  return true;
}

/**
 * Handles the request when it is one of ours and returns true; false leaves it to
 * Next. `clientIp` is who is asking (server.ts decides whether to believe a proxy).
 */
export function serveLean(req: IncomingMessage, res: ServerResponse, clientIp: string, deps: LeanDeps): boolean {
  if (req.method === "POST") {
    const m = KEY_PATH.exec((req.url ?? "/").split("?")[0]!);
    return m ? refusedKeygen(req, res, m[1]!, deps) : false;
  }
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const path = (req.url ?? "/").split("?")[0]!;
  if (path === "/healthz") {
    json(res, 200, { status: "ok" });
    return true;
  }
  if (path === "/readyz") {
    void readiness(deps.db).then((r) => json(res, r.ready ? 200 : 503, r, r.ready ? {} : { "Retry-After": "5" }));
    return true;
  }
  if (path === "/metrics") {
    const allowed = deps.metricsToken ? tokenOk(req.headers.authorization, deps.metricsToken) : isLoopback(clientIp);
    if (!allowed) {
      json(
        res,
        deps.metricsToken ? 401 : 403,
        errorBody(
          deps.metricsToken ? "unauthorized" : "forbidden",
          deps.metricsToken
            ? "Send MESHIA_METRICS_TOKEN as Authorization: Bearer."
            : "Metrics are served to this machine only; set MESHIA_METRICS_TOKEN to scrape them from elsewhere.",
        ),
      );
      return true;
    }
    const m = metrics();
    void m.registry.metrics().then(
      (text) => {
        res.writeHead(200, { ...HEADERS, "Content-Type": m.registry.contentType });
        res.end(text);
      },
      (err: unknown) => {
        deps.log.error({ err }, "could not collect metrics");
        json(res, 500, errorBody("internal_error", "Could not collect metrics."));
      },
    );
    return true;
  }
  if (req.method === "GET") {
    const m = AUTHORIZED_KEYS_PATH.exec(path);
    if (m) {
      // The id is used as it came: a UUID needs no decoding, anything else is a 401.
      serveAuthorizedKeys(req, res, m[1]!, clientIp, {
        db: deps.db,
        ...(deps.liveWindowMs ? { liveWindowMs: deps.liveWindowMs } : {}),
        failureRate: deps.targetAuthFailureRate,
        log: deps.log,
      });
      return true;
    }
  }
  return false;
}
