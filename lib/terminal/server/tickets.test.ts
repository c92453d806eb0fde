// Terminal tickets as database rows, on PGlite and Postgres: single-use (also when two
// instances race for one), expiring, stored only as a hash, bound to the principal
// that asked, and capped per person (outstanding tickets, sessions about to open).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "@/db/client";
import { terminalTickets } from "@/db/schema";
import { insertTestUser, testDatabases } from "@/db/testing";
import { registerTarget } from "@/lib/targets/registry";
import { createWorkspace } from "@/lib/workspaces/workspaces";
import { consumeTicket, hashTicket, issueTicket, outstandingTickets, TicketCapError, type TicketBinding } from "./tickets";

describe.each(testDatabases())("terminal tickets on $name", (tdb) => {
  let handle: Awaited<ReturnType<typeof tdb.open>>;
  /** Another instance on the same database (Postgres); on PGlite, the same handle. */
  let other: Database;
  let binding: TicketBinding;
  const newUser = () => insertTestUser(handle.db);

  beforeAll(async () => {
    handle = await tdb.open();
    other = handle.url ? await openDatabase({ url: handle.url }) : handle;
    const ws = (await createWorkspace(handle.db, { name: "W" })).id;
    const { target } = await registerTarget(handle.db, { workspaceId: ws, name: "t", kind: "openssh", host: "127.0.0.2" });
    binding = { workspaceId: ws, targetId: target.id, sessionId: crypto.randomUUID(), isNew: true, actor: await newUser(), via: "token", tokenId: "tok-1" };
  });
  afterAll(async () => {
    if (other && other !== handle) await other.close();
    await handle?.dispose();
  });

  it("work once, on another instance too, and carry the principal they were issued to", async () => {
    const { ticket, expiresAt } = await issueTicket(handle.db, binding, 30_000);
    expect(expiresAt.getTime()).toBeGreaterThan(Date.now() + 20_000);
    expect(await consumeTicket(other.db, ticket)).toEqual(binding);
    expect(await consumeTicket(handle.db, ticket)).toBeNull();
    expect(await consumeTicket(other.db, ticket)).toBeNull();
  });

  it("are used once when instances race for one", async () => {
    for (let round = 0; round < 5; round++) {
      const { ticket } = await issueTicket(handle.db, binding, 30_000);
      const results = await Promise.all([consumeTicket(handle.db, ticket), consumeTicket(other.db, ticket), consumeTicket(other.db, ticket)]);
      expect(results.filter(Boolean)).toHaveLength(1);
    }
  });

  it("expire", async () => {
    const { ticket } = await issueTicket(handle.db, binding, 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(await consumeTicket(other.db, ticket)).toBeNull();
  });

  it("are stored as a hash only, and refuse nonsense", async () => {
    const { ticket } = await issueTicket(handle.db, binding, 30_000);
    expect(ticket.length).toBeGreaterThanOrEqual(32);
    const dump = JSON.stringify(await handle.db.select().from(terminalTickets));
    expect(dump).not.toContain(ticket);
    expect(dump).toContain(hashTicket(ticket));
    expect(await consumeTicket(handle.db, "")).toBeNull();
    expect(await consumeTicket(handle.db, null)).toBeNull();
    expect(await consumeTicket(handle.db, "x".repeat(32))).toBeNull();
    expect(await consumeTicket(handle.db, "x".repeat(10_000))).toBeNull();
    expect(await consumeTicket(handle.db, ticket)).not.toBeNull();
  });

  it("cap a person's outstanding tickets, across instances, with the time until one expires", async () => {
    const actor = await newUser();
    const limits = { maxOutstanding: 3, maxSessions: 100, openSessions: () => 0 };
    const b = { ...binding, actor };
    // Ten requests at once on two instances: exactly three get a ticket.
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => issueTicket(i % 2 ? other.db : handle.db, b, 30_000, limits)));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
    const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(TicketCapError);
    expect(refused.reason).toMatchObject({ cap: "tickets", limit: 3 });
    expect((refused.reason as TicketCapError).retryAfterSeconds).toBeGreaterThanOrEqual(25);
    expect((refused.reason as TicketCapError).retryAfterSeconds).toBeLessThanOrEqual(30);
    expect(await outstandingTickets(other.db, actor)).toBe(3);
    // Someone else is not affected.
    await expect(issueTicket(handle.db, { ...binding, actor: await newUser() }, 30_000, limits)).resolves.toBeTruthy();
    // Using one frees a place.
    const used = (results.find((r) => r.status === "fulfilled") as PromiseFulfilledResult<{ ticket: string }>).value.ticket;
    expect(await consumeTicket(other.db, used)).not.toBeNull();
    await expect(issueTicket(handle.db, b, 30_000, limits)).resolves.toBeTruthy();
  });

  it("cap open sessions, counting tickets for new sessions as sessions about to open", async () => {
    const actor = await newUser();
    let open = 1;
    const limits = { maxOutstanding: 100, maxSessions: 3, openSessions: () => open };
    const b = { ...binding, actor };
    await issueTicket(handle.db, b, 30_000, limits);
    await issueTicket(other.db, b, 30_000, limits);
    const err = await issueTicket(handle.db, b, 30_000, limits).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TicketCapError);
    expect(err).toMatchObject({ cap: "sessions", limit: 3 });
    expect((err as Error).message).toMatch(/3 terminal sessions open/);
    // Resuming a session one has is not a new session.
    await expect(issueTicket(handle.db, { ...b, isNew: false }, 30_000, limits)).resolves.toBeTruthy();
    // A session closed elsewhere frees a place.
    open = 0;
    await expect(issueTicket(handle.db, b, 30_000, limits)).resolves.toBeTruthy();
  });
});
