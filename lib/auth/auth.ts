// Accounts and sessions: better-auth on our database. Only signing in and out (and
// reading the session) is open over HTTP at /api/auth/*; sign-up, membership and
// API tokens go through Meshia's own routes, which call better-auth server-side.
import "@/lib/server-only";
import path from "node:path";
import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { APIError, createAuthMiddleware } from "better-auth/api";
import { appDb, type Db } from "@/db/client";
import * as schema from "@/db/schema";
import { audit } from "@/lib/audit";
import { config } from "@/lib/config";
import { processGlobal } from "@/lib/global";
import { allowedOrigins } from "@/lib/http/origin";
import { loadOrCreateSecret } from "@/lib/keys/secret-file";
import { logger } from "@/lib/log";
import { authPlugins, authShape, HTTP_AUTH_PATHS } from "./options";

export interface AuthSettings {
  secret: string;
  baseURL?: string;
  secureCookies: boolean;
  signInRate: { max: number; windowSeconds: number };
}

const PUBLIC_PATHS = new Set<string>(HTTP_AUTH_PATHS);

export function createAuth(db: Db, s: AuthSettings) {
  return betterAuth({
    ...authShape,
    appName: "Meshia",
    // better-auth's messages become our JSON log lines (its arguments are not logged: they may hold request data).
    logger: {
      level: "warn",
      log: (level, message) =>
        logger()[level === "debug" ? "debug" : level === "info" ? "info" : level === "warn" ? "warn" : "error"]({ component: "auth" }, message),
    },
    // Unexpected errors (a query that failed) are thrown to our route plumbing, which
    // answers 503 for a database outage and a JSON 500 otherwise, and logs without the
    // query's parameters. Left to better-auth, they are printed with console.error,
    // parameters (an email) included, and answered with an empty 500.
    onAPIError: { throw: true },
    secret: s.secret,
    ...(s.baseURL ? { baseURL: s.baseURL } : {}),
    database: drizzleAdapter(db, { provider: "pg", schema }),
    // The same origin policy as the rest of the app (lib/http/origin.ts).
    trustedOrigins: async (request) => [...allowedOrigins(request?.headers.get("host"), request?.headers.get("x-forwarded-proto"))],
    session: { expiresIn: 7 * 24 * 3600, updateAge: 24 * 3600 },
    advanced: {
      ...authShape.advanced,
      cookiePrefix: "meshia",
      useSecureCookies: s.secureCookies,
      defaultCookieAttributes: { httpOnly: true, sameSite: "lax", secure: s.secureCookies },
      // server.ts sets X-Forwarded-For from the socket (see there), so this is the client's address.
      ipAddress: { ipAddressHeaders: ["x-forwarded-for"] },
    },
    rateLimit: {
      enabled: true,
      storage: "memory",
      window: 60,
      max: 300,
      customRules: { "/sign-in/email": { window: s.signInRate.windowSeconds, max: s.signInRate.max } },
    },
    hooks: {
      before: createAuthMiddleware(async (ctx) => {
        // Server-side calls (our routes) carry no request; browsers only get the public paths.
        if (ctx.request && !PUBLIC_PATHS.has(ctx.path)) {
          throw new APIError("NOT_FOUND", { message: "Not found." });
        }
      }),
      after: createAuthMiddleware(async (ctx) => {
        if (ctx.path === "/sign-in/email" && ctx.context.newSession) {
          const user = ctx.context.newSession.user;
          await audit(db, { workspaceId: null, actor: user.id, action: "auth.signed-in", detail: { email: user.email } });
        }
      }),
    },
    plugins: authPlugins(),
  });
}

export type Auth = ReturnType<typeof createAuth>;

/** The session secret: MESHIA_AUTH_SECRET, or one made on first start and kept in the data directory. */
function authSecret(): string {
  const cfg = config();
  if (cfg.auth.secret) return cfg.auth.secret;
  return loadOrCreateSecret(path.join(cfg.dataDir, "keys", "auth_secret"));
}

/** The app's auth instance, created once per process (shared by route handlers and server.ts). */
export async function auth(): Promise<Auth> {
  const existing = authGlobal.get();
  if (existing) return existing;
  const db = await appDb();
  const cfg = config();
  const created = createAuth(db, {
    secret: authSecret(),
    baseURL: cfg.publicUrl ?? `http://${cfg.host.includes(":") ? `[${cfg.host}]` : cfg.host}:${cfg.port}`,
    secureCookies: cfg.publicUrl?.startsWith("https://") ?? false,
    signInRate: cfg.auth.signInRate,
  });
  return authGlobal.get() ?? authGlobal.set(created);
}

/** Made by the first auth() call; a test sets one on its own database. */
export const authGlobal = processGlobal<Auth | null>("auth", () => null);
