// Key generation limits on the lean path, on the real databases: a real HTTP server
// doing what server.ts does (trustForwarding, serveLean, then the real key route in
// place of Next), API tokens and sessions from better-auth. Once a person is over a
// limit, their further POSTs with a remembered token or session cookie are refused before the route
// with the route's own 429; nobody else is, whatever the request claims.
import http from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseGlobal } from "@/db/client";
import { testDatabases } from "@/db/testing";
import { type Auth } from "@/lib/auth/auth";
import { principalFrom } from "@/lib/auth/principal";
import { configGlobal, loadConfig } from "@/lib/config";
import { trustForwarding } from "@/lib/http/client-address";
import { serveLean, type LeanDeps } from "@/lib/lean-routes";
import { rateLimiters } from "@/lib/http/rate-limit";
import { keyPoolGlobal } from "@/lib/keys/key-pool";
import { acceptInvitation, invite } from "@/lib/workspaces/invitations";
import { createToken, revokeToken } from "@/lib/workspaces/tokens";
import { createWorkspace } from "@/lib/workspaces/workspaces";
import type { Workspace } from "@/db/schema";
import * as keyRoute from "@/app/api/workspaces/[workspaceId]/key/route";
import { cookieOf, setUpOwner, useTestAuth } from "@/lib/auth/testing";
import { recentSessionsGlobal } from "@/lib/auth/recent-sessions";

const PASSWORD = "correct horse battery";
const USER_MAX = 2;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: { error?: { code: string; message: string; details?: { retryAfterSeconds?: number } } };
}

describe.each(testDatabases())("key generation limits before Next on $name", (tdb) => {
  let handle: Awaited<ReturnType<typeof tdb.open>>;
  let auth: Auth;
  let server: http.Server;
  let port = 0;
  /** Requests that reached the route (what Next would have been given). */
  let routeCalls = 0;
  let ws = "";
  let ownerId = "";
  let ownerCookie = "";
  let ownerToken = "";
  let ownerTokenId = "";
  let otherWs = "";
  let otherToken = "";

  const generate = (workspaceId: string, headers: Record<string, string>): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, method: "POST", path: `/api/workspaces/${workspaceId}/key`, headers }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => {
          let json: Reply["json"] = {};
          try {
            json = JSON.parse(text) as Reply["json"];
          } catch {
            // a PEM
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
      });
      req.on("error", reject);
      req.end();
    });

  beforeAll(async () => {
    handle = await tdb.open();
    databaseGlobal.set(Promise.resolve(handle));
    auth = useTestAuth(handle.db);
    const base = loadConfig();
    configGlobal.set({
      ...base,
      auth: { ...base.auth, keygenUserRate: { max: USER_MAX, windowSeconds: 60 }, keygenRate: { max: 100, windowSeconds: 60 } },
    });
    rateLimiters.resetForTests();
    recentSessionsGlobal.resetForTests();
    ({ workspaceId: ws, cookie: ownerCookie, userId: ownerId } = await setUpOwner(handle.db, auth, { password: PASSWORD }));
    const t = await createToken(handle.db, auth, { userId: ownerId, workspaceId: ws, name: "flood" });
    ownerToken = t.token;
    ownerTokenId = t.id;
    // Another person, owner of a workspace of their own, calling from the same address.
    const inv = await invite(handle.db, { id: ws, name: "W" } as Workspace, { email: "noah@example.com", role: "member", inviterId: ownerId });
    await acceptInvitation(handle.db, auth, inv.id, { newAccount: { name: "Noah", password: PASSWORD } });
    const noah = (await principalFrom(new Headers({ cookie: await signIn("noah@example.com") })))!.userId;
    otherWs = (await createWorkspace(handle.db, { name: "Noah's", ownerId: noah })).id;
    otherToken = (await createToken(handle.db, auth, { userId: noah, workspaceId: otherWs, name: "ci" })).token;

    const deps: LeanDeps = {
      db: handle.db,
      log: pino({ level: "silent" }),
      targetAuthFailureRate: { max: 30, windowSeconds: 60 },
      metricsToken: undefined,
    };
    server = http.createServer((req, res) => {
      const clientIp = trustForwarding(req, false);
      if (serveLean(req, res, clientIp, deps)) return;
      // What Next would do: the real route handler.
      routeCalls++;
      const workspaceId = /^\/api\/workspaces\/([^/]+)\/key$/.exec(req.url ?? "")?.[1] ?? "";
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
      void keyRoute
        .POST(new Request(`http://127.0.0.1:${port}${req.url}`, { method: "POST", headers }), { params: Promise.resolve({ workspaceId }) })
        .then(async (r) => {
          res.writeHead(r.status, Object.fromEntries(r.headers));
          res.end(Buffer.from(await r.arrayBuffer()));
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server?.close(() => r()));
    configGlobal.resetForTests();
    keyPoolGlobal.resetForTests();
    rateLimiters.resetForTests();
    await handle?.dispose();
  });

  async function signIn(email: string): Promise<string> {
    const res = await auth.handler(
      new Request("http://127.0.0.1:3000/api/auth/sign-in/email", {
        method: "POST",
        headers: { "content-type": "application/json", origin: "http://127.0.0.1:3000", host: "127.0.0.1:3000", "x-forwarded-for": "10.0.0.2" },
        body: JSON.stringify({ email, password: PASSWORD }),
      }),
    );
    return cookieOf(res.headers);
  }

  it("a person over the limit is refused before the route, with the route's own 429; other people are not", async () => {
    const bearer = { authorization: `Bearer ${ownerToken}` };
    for (let i = 0; i < USER_MAX; i++) expect((await generate(ws, bearer)).status).toBe(200);
    expect(routeCalls).toBe(USER_MAX);
    // Over the limit. On PGlite the counts are this process's: the budget is seen spent
    // and this one is already refused before the route. On Postgres the route asks the
    // shared table, which refuses, and this instance remembers it.
    const third = await generate(ws, bearer);
    expect(third.status).toBe(429);
    const seen = routeCalls;
    expect(seen).toBe(tdb.name === "postgres" ? USER_MAX + 1 : USER_MAX);

    // From now on, answered before the route: same status, code, message, Retry-After.
    const lean = await generate(ws, bearer);
    expect(routeCalls).toBe(seen);
    expect(lean.status).toBe(429);
    expect(lean.json.error?.code).toBe("rate_limited");
    expect(lean.json.error?.message).toMatch(/^Too many key generations; try again in \d+ s\.$/);
    expect(lean.json.error?.message.replace(/\d+/, "N")).toBe(third.json.error?.message.replace(/\d+/, "N"));
    expect(Number(lean.headers["retry-after"])).toBeGreaterThan(0);
    expect(lean.json.error?.details?.retryAfterSeconds).toBe(Number(lean.headers["retry-after"]));
    expect(lean.headers["content-type"]).toMatch(/^application\/json/);

    // A forwarded address changes nothing: the limit is the person's, not the address's.
    const spoofed = await generate(ws, { ...bearer, "x-forwarded-for": "198.51.100.7" });
    expect(spoofed.status).toBe(429);
    expect(routeCalls).toBe(seen);

    // Another person from the same address (same socket, same everything) generates.
    expect((await generate(otherWs, { authorization: `Bearer ${otherToken}` })).status).toBe(200);
    expect(routeCalls).toBe(seen + 1);
  });

  it("a session cookie is known once the route has resolved it; what the lean path cannot vouch for goes to the route", async () => {
    const before = routeCalls;
    const sameOrigin = { origin: `http://127.0.0.1:${port}` };
    // The same person by cookie, not yet resolved by this process: the route decides
    // (and refuses: the limit is per person), and remembers who the cookie is.
    const byCookie = await generate(ws, { cookie: ownerCookie, ...sameOrigin });
    expect(byCookie.status).toBe(429);
    expect(byCookie.json.error?.message).toMatch(/^Too many key generations; try again in \d+ s\.$/);
    expect(routeCalls).toBe(before + 1);
    // Again by cookie: refused before the route, with the same answer.
    const leanCookie = await generate(ws, { cookie: ownerCookie, ...sameOrigin });
    expect(leanCookie.status).toBe(429);
    expect(leanCookie.json.error?.message.replace(/\d+/, "N")).toBe(byCookie.json.error?.message.replace(/\d+/, "N"));
    expect(Number(leanCookie.headers["retry-after"])).toBeGreaterThan(0);
    expect(routeCalls).toBe(before + 1);
    // The cookie cross-origin: the route's 403.
    expect((await generate(ws, { cookie: ownerCookie, origin: "https://evil.example" })).status).toBe(403);
    expect(routeCalls).toBe(before + 2);
    // Another person's cookie from the same address, under the limits: the route, which generates.
    expect((await generate(otherWs, { cookie: await signIn("noah@example.com"), ...sameOrigin })).status).toBe(200);
    expect(routeCalls).toBe(before + 3);
    // Their token on another workspace's path: the route's 404, not a 429 that would tell anything.
    expect((await generate(otherWs, { authorization: `Bearer ${ownerToken}` })).status).toBe(404);
    expect(routeCalls).toBe(before + 4);
    // A cross-origin POST with the token: the route's 403.
    expect((await generate(ws, { authorization: `Bearer ${ownerToken}`, origin: "https://evil.example" })).status).toBe(403);
    expect(routeCalls).toBe(before + 5);
    // Revoked: forgotten at once, so the route answers 401, never a lean 429.
    await revokeToken(handle.db, { userId: ownerId, workspaceId: ws, tokenId: ownerTokenId });
    expect((await generate(ws, { authorization: `Bearer ${ownerToken}` })).status).toBe(401);
    expect(routeCalls).toBe(before + 6);
  });

  it("the limit is the person's across workspaces: a second workspace and token do not get around it", async () => {
    const second = await createWorkspace(handle.db, { name: "Olivia's second", ownerId });
    const token = (await createToken(handle.db, auth, { userId: ownerId, workspaceId: second.id, name: "second" })).token;
    const bearer = { authorization: `Bearer ${token}` };
    const before = routeCalls;
    expect((await generate(second.id, bearer)).status).toBe(429); // the route verifies the token and refuses
    expect((await generate(second.id, bearer)).status).toBe(429); // then the lean path does
    expect(routeCalls).toBe(before + 1);
  });
});
