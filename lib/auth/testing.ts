// Test helpers for the account layer: the owner every test world starts from, and
// the cookie a browser would send back. Used by tests and benchmarks only.
import type { Db } from "@/db/client";
import { authGlobal, createAuth, type Auth } from "./auth";
import { completeSetup, issueSetupToken } from "./setup";

export const TEST_PASSWORD = "correct horse battery";

/** The app's auth on `db` as tests configure it: a fixed secret, cookies without Secure, a sign-in limit. */
export function testAuth(db: Db, signInRate = { max: 100, windowSeconds: 60 }): Auth {
  return createAuth(db, { secret: "test-secret-".repeat(4), secureCookies: false, signInRate });
}

/** testAuth, made the process's auth (what route handlers and principalFrom use). */
export function useTestAuth(db: Db, signInRate?: { max: number; windowSeconds: number }): Auth {
  return authGlobal.set(testAuth(db, signInRate));
}

/** The `Cookie` header a browser would send back after a response with these Set-Cookie headers. */
export function cookieOf(headers: Headers): string {
  return headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
}

export interface TestOwner {
  userId: string;
  workspaceId: string;
  /** The owner's session, as a Cookie header. */
  cookie: string;
}

/**
 * The owner account and its first workspace, made the way a real install makes them:
 * through a setup link issued on this database (which must have no accounts yet).
 */
export async function setUpOwner(db: Db, auth: Auth, who: { name?: string; email?: string; password?: string } = {}): Promise<TestOwner> {
  const token = await issueSetupToken(db);
  if (!token) throw new Error("setUpOwner: this database already has accounts (no setup link can be issued)");
  const done = await completeSetup(db, auth, {
    token,
    name: who.name ?? "Olivia",
    email: who.email ?? "owner@example.com",
    password: who.password ?? TEST_PASSWORD,
  });
  const cookie = cookieOf(done.headers);
  const session = await auth.api.getSession({ headers: new Headers({ cookie }) });
  if (!session) throw new Error("setUpOwner: the setup link's session was not accepted");
  return { userId: session.user.id, workspaceId: done.workspaceId, cookie };
}
