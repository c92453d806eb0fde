// Leader election for the embedded target. On Postgres: contenders on one database
// (each its own connection, as separate instances), exactly one leads; when it stops,
// or its connection is killed, it stops its work and another takes over. On PGlite: the
// one process leads at once.
import pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "@/db/testing";
import { LeaderElection } from "./leader";

const log = pino({ level: "silent" });

function contender(url: string | undefined, name: string, events: string[], id: string) {
  return new LeaderElection({
    url,
    name,
    log,
    retryMs: 150,
    onElected: async () => void events.push(`${id}+`),
    onDeposed: async () => void events.push(`${id}-`),
  });
}

describe.each(testDatabases())("leader election on $name", (tdb) => {
  let handle: Awaited<ReturnType<typeof tdb.open>>;
  beforeAll(async () => {
    handle = await tdb.open();
  });
  afterAll(async () => handle?.dispose());

  it.runIf(tdb.name === "pglite")("one process: it leads at once, and stops its work when it stops", async () => {
    const events: string[] = [];
    const a = contender(handle.url, "local-target", events, "a");
    await a.start();
    expect(a.isLeader).toBe(true);
    await a.stop();
    expect(events).toEqual(["a+", "a-"]);
  });

  it.runIf(tdb.name === "postgres")("exactly one of two leads; the other takes over when it releases", async () => {
    const name = `t-${Math.random()}`;
    const events: string[] = [];
    const a = contender(handle.url, name, events, "a");
    const b = contender(handle.url, name, events, "b");
    try {
      await Promise.all([a.start(), b.start()]);
      expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
      // It stays so over several rounds of retries.
      await new Promise((r) => setTimeout(r, 600));
      expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
      expect(events).toHaveLength(1);
      const [leader, follower] = a.isLeader ? [a, b] : [b, a];
      const [l, f] = a.isLeader ? ["a", "b"] : ["b", "a"];
      await leader.stop();
      // The work stopped before the lock was released (the other may already have it).
      expect(events.slice(0, 2)).toEqual([`${l}+`, `${l}-`]);
      await expect.poll(() => follower.isLeader, { timeout: 3000, interval: 20 }).toBe(true);
      expect(events).toEqual([`${l}+`, `${l}-`, `${f}+`]);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it.runIf(tdb.name === "postgres")("a leader whose connection is killed stops its work at once, and the lead is taken again by one", async () => {
    const name = `t-${Math.random()}`;
    const events: string[] = [];
    const a = contender(handle.url, name, events, "a");
    await a.start();
    expect(a.isLeader).toBe(true);
    const b = contender(handle.url, name, events, "b");
    await b.start();
    expect(b.isLeader).toBe(false);
    const admin = new pg.Client({ connectionString: handle.url });
    await admin.connect();
    try {
      // Kill the backend holding the lock, as a database restart or a network cut would.
      const killed = await admin.query(
        "SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
      );
      expect(killed.rowCount).toBeGreaterThanOrEqual(1);
      await expect.poll(() => events.includes("a-"), { timeout: 3000, interval: 20 }).toBe(true);
      // The lead is taken again (by b, or by a reconnecting first), by exactly one.
      await expect.poll(() => events.length, { timeout: 3000, interval: 20 }).toBe(3);
      expect(events.slice(0, 2)).toEqual(["a+", "a-"]);
      expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
    } finally {
      await admin.end();
      await a.stop();
      await b.stop();
    }
  });
});
