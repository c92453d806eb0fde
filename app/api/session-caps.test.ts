// Issue 10 part 4, through the real ticket route on real databases: one person's open
// terminal sessions and unused tickets are capped (MESHIA_MAX_SESSIONS_PER_USER,
// MESHIA_MAX_TICKETS_PER_USER); past a cap the answer is 429 JSON with a message the
// terminal tab shows as it is, and Retry-After. Another person is not affected.
// While the instance drains, the route answers 503 with Retry-After before anything
// else (body, its size, authentication).
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "@/db/testing";
import { type Auth, authGlobal } from "@/lib/auth/auth";
import { acceptInvitation, invite } from "@/lib/workspaces/invitations";
import { config, configGlobal } from "@/lib/config";
import { healthState } from "@/lib/health";
import { recordBoot, registerTarget } from "@/lib/targets/registry";
import { sessionRegistry } from "@/lib/terminal/server/registry";
import { consumeTicket } from "@/lib/terminal/server/tickets";
import * as ticketsRoute from "./workspaces/[workspaceId]/terminal/tickets/route";
import { databaseGlobal } from "@/db/client";
import { cookieOf, setUpOwner, useTestAuth } from "@/lib/auth/testing";

const ORIGIN = "http://127.0.0.1:3000";
const PASSWORD = "correct horse battery";
const HOST = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBnJ9R0Xg7N2z2r9w9A0Qe3v4yP5mX8fJk1L2qS3t4uV host";
const log = pino({ level: "silent" });

describe.each(testDatabases())("per-person terminal caps on $name", (tdb) => {
  let handle: Awaited<ReturnType<typeof tdb.open>>;
  let auth: Auth;
  let ws = "";
  let targetId = "";
  let owner = { id: "", cookie: "" };
  let mia = { id: "", cookie: "" };
  const savedConfig = config();

  const ticket = async (cookie: string, body: Record<string, unknown> | string = { targetId }, headers: Record<string, string> = {}) => {
    const res = await ticketsRoute.POST(
      new Request(`${ORIGIN}/api/workspaces/${ws}/terminal/tickets`, {
        method: "POST",
        headers: { host: "127.0.0.1:3000", origin: ORIGIN, cookie, "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
      { params: Promise.resolve({ workspaceId: ws }) },
    );
    return {
      status: res.status,
      retryAfter: res.headers.get("Retry-After"),
      body: (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string; details?: Record<string, unknown> } },
    };
  };
  /** A session held by this instance for `userId` (its SSH side is not the point here). */
  const holdSession = (userId: string) =>
    sessionRegistry().create(crypto.randomUUID(), ws, targetId, userId, {
      log,
      resumeBufferBytes: 4096,
      graceMs: 60_000,
      idleTimeoutMs: 0,
      connect: () => new Promise(() => undefined),
      targetIsLive: async () => true,
    });

  beforeAll(async () => {
    handle = await tdb.open();
    databaseGlobal.set(Promise.resolve(handle));
    configGlobal.set({ ...savedConfig, terminal: { ...savedConfig.terminal, maxSessionsPerUser: 3, maxTicketsPerUser: 4 } });
    auth = useTestAuth(handle.db);
    const setup = await setUpOwner(handle.db, auth, { password: PASSWORD });
    ws = setup.workspaceId;
    owner = { id: setup.userId, cookie: setup.cookie };
    const inv = await invite(handle.db, { id: ws, name: "W" } as Parameters<typeof invite>[1], {
      email: "mia@example.com",
      role: "member",
      inviterId: owner.id,
    });
    await acceptInvitation(handle.db, auth, inv.id, { newAccount: { name: "Mia", password: PASSWORD } });
    const signed = await auth.api.signInEmail({ body: { email: "mia@example.com", password: PASSWORD }, returnHeaders: true });
    mia = { id: signed.response.user.id, cookie: cookieOf(signed.headers) };
    const { target } = await registerTarget(handle.db, { workspaceId: ws, name: "t", kind: "openssh", host: "127.0.0.2" });
    await recordBoot(handle.db, target, { bootId: crypto.randomUUID(), port: 22, hostKeys: [HOST] });
    targetId = target.id;
  });
  afterAll(async () => {
    await sessionRegistry().closeAll("test over");
    configGlobal.set(savedConfig);
    databaseGlobal.resetForTests();
    authGlobal.resetForTests();
    await handle?.dispose();
  });

  it("open sessions: the cap counts sessions held and tickets for new ones; 429 with a clear message and Retry-After", async () => {
    const held = [holdSession(owner.id), holdSession(owner.id)];
    const first = await ticket(owner.cookie);
    expect(first.status).toBe(200);
    // Two sessions and one about to open: the third new one is refused.
    const refused = await ticket(owner.cookie);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: "rate_limited", details: { reason: "session_cap", limit: 3 } });
    expect(refused.body.error!.message).toMatch(/already have 3 terminal sessions open.*Close a terminal tab/);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    // Another person has their own budget.
    expect((await ticket(mia.cookie)).status).toBe(200);
    // Closing a tab frees a place.
    held[0]!.close("closed by the person");
    expect((await ticket(owner.cookie)).status).toBe(200);
    held[1]!.close("done");
  });

  it("unused tickets: at most MESHIA_MAX_TICKETS_PER_USER at once, 429 with Retry-After until one expires or is used", async () => {
    const session = holdSession(mia.id);
    // Resume tickets for an open session (not new sessions): only the ticket cap applies.
    const resume = { targetId, sessionId: session.id };
    const got: string[] = [];
    let last = await ticket(mia.cookie, resume);
    // Mia already holds one unused ticket from the first test.
    while (last.status === 200) {
      got.push(last.body.ticket as string);
      last = await ticket(mia.cookie, resume);
    }
    expect(got).toHaveLength(3);
    expect(last.status).toBe(429);
    expect(last.body.error).toMatchObject({ code: "rate_limited", details: { reason: "ticket_cap", limit: 4 } });
    expect(last.body.error!.message).toMatch(/4 unused terminal tickets/);
    const retry = Number(last.retryAfter);
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(Math.ceil(config().terminal.ticketTtlMs / 1000));
    // Using one frees a place.
    expect(await consumeTicket(handle.db, got[0])).not.toBeNull();
    expect((await ticket(mia.cookie, resume)).status).toBe(200);
    session.close("done");
  });

  it("while draining: 503 with Retry-After first, whatever the request (malformed, invalid, oversized or fine body; no session); after it, the usual answers", async () => {
    const bodies: (Record<string, unknown> | string)[] = ["{not json", { targetId: 42 }, { targetId, unknown: true }, {}, { targetId }];
    const before = await Promise.all(bodies.map((b) => ticket(owner.cookie, b)));
    expect(before.map((r) => r.status)).toEqual([400, 422, 422, 422, 200]);
    const big = JSON.stringify({ targetId, pad: "x".repeat(2 * 1024 * 1024) });
    expect((await ticket(owner.cookie, big, { "content-length": String(big.length) })).status).toBe(413);
    expect((await ticket("", { targetId })).status).toBe(401);
    healthState.get().draining = true;
    try {
      for (const b of bodies) {
        const r = await ticket(owner.cookie, b);
        expect(r.status, JSON.stringify(b)).toBe(503);
        expect(r.retryAfter).toBe("5");
        expect(r.body.error).toMatchObject({ code: "unavailable" });
        expect(r.body.error!.message).toMatch(/shutting down/);
      }
      // Before everything: without a session too (the 503 says only what /readyz says), and with a body over the size limit.
      expect((await ticket("", { targetId })).status).toBe(503);
      expect((await ticket(owner.cookie, big, { "content-length": String(big.length) })).status).toBe(503);
    } finally {
      healthState.get().draining = false;
    }
  });
});
