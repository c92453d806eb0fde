// The SSH access log on real databases: events are written in batches, and a flood
// is summarised in a bounded number of rows that still count every event.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq, sql } from "drizzle-orm";
import { sshAccess } from "@/db/schema";
import { testDatabases } from "@/db/testing";
import { workspaceAudit } from "@/lib/audit";
import { createWorkspace } from "@/lib/workspaces/workspaces";
import { SshAccessLog } from "./ssh-access-log";

describe.each(testDatabases())("SSH access log on $name", (tdb) => {
  let handle: Awaited<ReturnType<typeof tdb.open>>;
  let ws: string;
  const targetId = crypto.randomUUID();
  beforeAll(async () => {
    handle = await tdb.open();
    ws = (await createWorkspace(handle.db, { name: "W" })).id;
  });
  afterAll(async () => handle?.dispose());

  it("writes each event with where it came from, and the audit shows it", async () => {
    const log = new SshAccessLog(handle.db, pino({ level: "silent" }));
    log.record({ workspaceId: ws, targetId, kind: "login", source: "203.0.113.5:50022", user: "mesh", fingerprint: "SHA256:abc", result: "accepted" });
    log.record({ workspaceId: ws, targetId, kind: "login", source: "203.0.113.6:50023", user: "root", fingerprint: null, result: "refused" });
    await log.flush();
    const { access } = await workspaceAudit(handle.db, ws);
    expect(access.map((a) => [a.kind, a.source, a.user, a.result, a.more])).toEqual(
      expect.arrayContaining([
        ["login", "203.0.113.5:50022", "mesh", "accepted", 0],
        ["login", "203.0.113.6:50023", "root", "refused", 0],
      ]),
    );
  });

  it("writes what it was given exactly: quotes, commas, braces, backslashes, NULL-looking text and the time", async () => {
    const log = new SshAccessLog(handle.db, pino({ level: "silent" }));
    const odd = crypto.randomUUID();
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000 + 678); // recent: older rows are pruned
    log.record({ workspaceId: ws, targetId: odd, kind: "key-lookup", source: null, user: 'a"b,{c}\\ NULL', fingerprint: "NULL", result: "served", at });
    await log.flush();
    const rows = await handle.db.select().from(sshAccess).where(eq(sshAccess.targetId, odd));
    expect(rows.map((r) => [r.user, r.source, r.fingerprint, r.at.toISOString(), r.more])).toEqual([['a"b,{c}\\ NULL', null, "NULL", at.toISOString(), 0]]);
  });

  it("writes a full second's rows in several inserts, letting other requests in between (on PGlite the database runs on this thread)", async () => {
    const log = new SshAccessLog(handle.db, pino({ level: "silent" }));
    const many = crypto.randomUUID();
    for (let i = 0; i < 200; i++)
      log.record({ workspaceId: ws, targetId: many, kind: "key-lookup", source: null, user: "mesh", fingerprint: null, result: "served" });
    // Another request's work, queued as I/O callbacks are: how often it gets a turn while the flush runs.
    let turns = 0;
    let flushing = true;
    const tick = () => {
      if (!flushing) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    await log.flush();
    flushing = false;
    expect(turns).toBeGreaterThanOrEqual(3);
    expect(await handle.db.$count(sshAccess, eq(sshAccess.targetId, many))).toBe(200);
  });

  it("summarises a flood: a bounded number of rows, every event counted", async () => {
    const log = new SshAccessLog(handle.db, pino({ level: "silent" }));
    const flood = crypto.randomUUID();
    for (let i = 0; i < 8000; i++) {
      log.record({
        workspaceId: ws,
        targetId: flood,
        kind: "key-lookup",
        source: `198.51.100.${i % 250}:${1000 + i}`,
        user: "mesh",
        fingerprint: null,
        result: i % 2 ? "served" : "none",
      });
    }
    await log.flush();
    const rows = await handle.db.select().from(sshAccess).where(eq(sshAccess.targetId, flood));
    expect(rows.length).toBeLessThanOrEqual(202);
    const [{ total }] = (await handle.db
      .select({ total: sql<number>`sum(1 + ${sshAccess.more})::int` })
      .from(sshAccess)
      .where(eq(sshAccess.targetId, flood))) as [{ total: number }];
    expect(total).toBe(8000);
  });
});
