// Accounts against real databases: the setup link, sign-in and its rate limit,
// sessions and API tokens as principals, invitations, and the access helper's rules.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { apikey } from "@/db/schema";
import { testDatabases } from "@/db/testing";
import { config, configGlobal } from "@/lib/config";
import { defineRoute, json } from "@/lib/http/route";
import { createWorkspace } from "@/lib/workspaces/workspaces";
import { withWorkspace } from "./access";
import { type Auth } from "./auth";
import { acceptInvitation, invite } from "@/lib/workspaces/invitations";
import { principalFrom } from "./principal";
import { completeSetup, hasUsers, issueSetupToken } from "./setup";
import { createToken, revokeToken } from "@/lib/workspaces/tokens";
import { authGlobal } from "@/lib/auth/auth";
import { databaseGlobal } from "@/db/client";
import { rateLimiters } from "@/lib/http/rate-limit";
import { cookieOf, setUpOwner, testAuth } from "@/lib/auth/testing";

const ORIGIN = "http://127.0.0.1:3000";
const PASSWORD = "correct horse battery";

describe.each(testDatabases())("accounts on $name", (tdb) => {
  let handle: Awaited<ReturnType<typeof tdb.open>>;
  let auth: Auth;
  let workspaceId: string;
  let ownerCookie: string;
  let ownerId: string;

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    auth.handler(
      new Request(`${ORIGIN}/api/auth${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: ORIGIN, host: "127.0.0.1:3000", "x-forwarded-for": "10.0.0.1", ...headers },
        body: JSON.stringify(body),
      }),
    );
  const signIn = async (email: string, password = PASSWORD, ip = "10.0.0.1") => {
    const res = await post("/sign-in/email", { email, password }, { "x-forwarded-for": ip });
    return {
      status: res.status,
      cookie: cookieOf(res.headers),
    };
  };

  const authFor = (db: typeof handle.db) => testAuth(db, { max: 3, windowSeconds: 60 });

  // Every test below starts from the same world, whatever ran before it: the owner
  // (made through the setup link) and their workspace.
  beforeAll(async () => {
    handle = await tdb.open();
    databaseGlobal.set(Promise.resolve(handle));
    auth = authFor(handle.db);
    authGlobal.set(auth);
    ({ workspaceId, cookie: ownerCookie, userId: ownerId } = await setUpOwner(handle.db, auth, { password: PASSWORD }));
  });
  afterAll(async () => handle?.dispose());

  it("the setup link creates the owner account once; a wrong token does not use it up", async () => {
    // A database of its own: the setup link is for a database without accounts.
    const fresh = await tdb.open();
    try {
      await setupLinkOnce(fresh.db, authFor(fresh.db));
    } finally {
      await fresh.dispose();
    }
  });

  async function setupLinkOnce(db: typeof handle.db, auth: Auth): Promise<void> {
    const handle = { db };
    expect(await hasUsers(handle.db)).toBe(false);
    const token = (await issueSetupToken(handle.db))!;
    await expect(
      completeSetup(handle.db, auth, { token: "wrong-token-wrong-token", name: "O", email: "owner@example.com", password: PASSWORD }),
    ).rejects.toThrow(/not valid/);
    // Account creation fails after the token was taken (a NUL the database refuses, a
    // password better-auth refuses): the link must still work afterwards.
    await expect(completeSetup(handle.db, auth, { token, name: "O\u0000", email: "owner@example.com", password: PASSWORD })).rejects.toThrow();
    await expect(completeSetup(handle.db, auth, { token, name: "O", email: "owner@example.com", password: "short" })).rejects.toThrow();
    expect(await hasUsers(handle.db)).toBe(false);
    const done = await completeSetup(handle.db, auth, { token, name: "Olivia", email: "owner@example.com", password: PASSWORD });
    expect(done.workspaceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(done.headers.getSetCookie().join()).toMatch(/meshia\.session_token=.*HttpOnly/i);
    expect(done.headers.getSetCookie().join()).toMatch(/SameSite=Lax/i);
    await expect(completeSetup(handle.db, auth, { token, name: "Eve", email: "eve@example.com", password: PASSWORD })).rejects.toThrow(/not valid/);
    expect(await issueSetupToken(handle.db)).toBeNull();
  }

  it("refuses sign-up and everything but signing in over HTTP", async () => {
    expect((await post("/sign-up/email", { email: "x@example.com", password: PASSWORD, name: "x" })).status).toBe(404);
    expect((await post("/organization/create", { name: "x", slug: "x" })).status).toBe(404);
    expect((await post("/api-key/create", { name: "x" })).status).toBe(404);
  });

  it("signs in, and a session cookie is a principal until sign-out", async () => {
    const s = await signIn("owner@example.com");
    expect(s.status).toBe(200);
    const p = await principalFrom(new Headers({ cookie: s.cookie }));
    expect(p).toMatchObject({ email: "owner@example.com", via: "session", userId: ownerId });
    const other = await signIn("owner@example.com");
    await post("/sign-out", {}, { cookie: other.cookie });
    expect(await principalFrom(new Headers({ cookie: other.cookie }))).toBeNull();
    expect(await principalFrom(new Headers({ cookie: "meshia.session_token=made.up" }))).toBeNull();
  });

  it("rate-limits sign-in attempts per client address", async () => {
    // better-auth's memory store is per process: each database run uses its own addresses.
    const [ip, other] = tdb.name === "pglite" ? ["10.9.9.9", "10.9.9.10"] : ["10.9.8.9", "10.9.8.10"];
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await signIn("owner@example.com", "wrong password!", ip)).status);
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses.slice(3)).toEqual([429, 429]);
    // Another address is not affected.
    expect((await signIn("owner@example.com", PASSWORD, other)).status).toBe(200);
  });

  describe("the access helper", () => {
    const route = defineRoute({
      GET: withWorkspace(async (_req, ctx) => json({ role: ctx.role, actor: ctx.actor })),
      POST: withWorkspace(async () => json({ ok: true }), { role: "owner" }),
    });
    const call = (method: "GET" | "POST", ws: string, headers: Record<string, string>) =>
      route[method](new Request(`${ORIGIN}/api/workspaces/${ws}/x`, { method, headers: { host: "127.0.0.1:3000", ...headers } }), {
        params: Promise.resolve({ workspaceId: ws }),
      });

    let memberCookie: string;
    let otherWorkspace: string;

    beforeAll(async () => {
      const owner = { userId: ownerId };
      const ws = { id: workspaceId, name: "Default workspace" } as Parameters<typeof invite>[1];
      const inv = await invite(handle.db, ws, { email: "mia@example.com", role: "member", inviterId: owner.userId });
      const joined = await acceptInvitation(handle.db, auth, inv.id, { newAccount: { name: "Mia", password: PASSWORD } });
      memberCookie = cookieOf(joined.headers!);
      otherWorkspace = (await createWorkspace(handle.db, { name: "Other" })).id;
    });

    it("answers 401 without a principal, 404 outside your workspaces, 403 for owner actions of a member", async () => {
      expect((await call("GET", workspaceId, {})).status).toBe(401);
      expect((await call("GET", workspaceId, { cookie: ownerCookie })).status).toBe(200);
      expect(await (await call("GET", workspaceId, { cookie: memberCookie })).json()).toMatchObject({ role: "member" });
      expect((await call("POST", workspaceId, { cookie: memberCookie, origin: ORIGIN })).status).toBe(403);
      expect((await call("POST", workspaceId, { cookie: ownerCookie, origin: ORIGIN })).status).toBe(200);
      expect((await call("GET", otherWorkspace, { cookie: ownerCookie })).status).toBe(404);
      expect((await call("GET", "not-a-uuid", { cookie: ownerCookie })).status).toBe(404);
      expect((await call("POST", workspaceId, { cookie: ownerCookie, origin: "http://evil.example" })).status).toBe(403);
    });

    it("lets an API token act in its own workspace only, until revoked", async () => {
      const t = await createToken(handle.db, auth, { userId: ownerId, workspaceId, name: "ci" });
      const bearer = { authorization: `Bearer ${t.token}` };
      expect(await (await call("GET", workspaceId, bearer)).json()).toMatchObject({ role: "owner", actor: ownerId });
      // Verified once, remembered briefly: the next requests do not write the token's row again.
      const row = async () => (await handle.db.select().from(apikey).where(eq(apikey.id, t.id)))[0]!;
      const seen = await row();
      expect((await call("POST", workspaceId, bearer)).status).toBe(200);
      expect((await row()).updatedAt).toEqual(seen.updatedAt);
      expect((await row()).lastRequest).toEqual(seen.lastRequest);
      expect((await call("GET", otherWorkspace, bearer)).status).toBe(404);
      await revokeToken(handle.db, { userId: ownerId, workspaceId, tokenId: t.id });
      expect((await call("GET", workspaceId, bearer)).status).toBe(401);
      expect((await call("GET", workspaceId, { authorization: "Bearer mshk_made_up_token" })).status).toBe(401);
    });

    it("rate-limits key generation per person and workspace (the real key route)", async () => {
      // A budget of 2 for this test (the route reads the limit from the configuration).
      configGlobal.set({ ...config(), auth: { ...config().auth, keygenRate: { max: 2, windowSeconds: 60 } } });
      rateLimiters.resetForTests();
      const { POST } = await import("@/app/api/workspaces/[workspaceId]/key/route");
      const generate = () =>
        POST(
          new Request(`${ORIGIN}/api/workspaces/${workspaceId}/key`, {
            method: "POST",
            headers: { host: "127.0.0.1:3000", origin: ORIGIN, cookie: ownerCookie },
          }),
          {
            params: Promise.resolve({ workspaceId }),
          },
        );
      expect((await generate()).status).toBe(200);
      expect((await generate()).status).toBe(200);
      const limited = await generate();
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(0);
      expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    });

    it("invitations work once, for the invited email only", async () => {
      const ws = { id: workspaceId, name: "Default workspace" } as Parameters<typeof invite>[1];
      const inv = await invite(handle.db, ws, { email: "noah@example.com", role: "member", inviterId: ownerId });
      const mia = (await principalFrom(new Headers({ cookie: memberCookie })))!;
      await expect(acceptInvitation(handle.db, auth, inv.id, { userId: mia.userId, email: mia.email })).rejects.toThrow(/for noah@example.com/);
      await acceptInvitation(handle.db, auth, inv.id, { newAccount: { name: "Noah", password: PASSWORD } });
      await expect(acceptInvitation(handle.db, auth, inv.id, { newAccount: { name: "Noah", password: PASSWORD } })).rejects.toThrow(/not valid/);
    });
  });
});
