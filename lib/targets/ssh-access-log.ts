// Records SSH access (logins on the embedded target, key lookups from OpenSSH
// targets) without putting the database on the login path: events are buffered and
// written once a second, in inserts of INSERT_ROWS rows. At most MAX_ROWS_PER_FLUSH rows are written
// per flush; beyond that, events are folded into one row per target, kind and
// result with a count (`more`), so a login storm or a flood of bad lookups costs the
// database a bounded amount of work and is still visible in the audit.
import { lt, sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { sshAccess } from "@/db/schema";
import { processGlobal } from "@/lib/global";
import type { Logger } from "@/lib/log";

export interface SshAccessEvent {
  workspaceId: string;
  targetId: string;
  kind: "login" | "key-lookup";
  source: string | null;
  user: string;
  fingerprint: string | null;
  result: string;
  at?: Date;
}

const FLUSH_MS = 1000;
const MAX_ROWS_PER_FLUSH = 200;
/**
 * Rows per INSERT, with a turn of the event loop between two. On PGlite the database
 * runs on this thread: one 200-row insert held the event loop 6-10 ms once a second,
 * and every key lookup arriving meanwhile waited it out (the lookups' p99 at 1,000/s
 * was ~11 ms where a bare server's is 2 ms). 50 rows take ~2.5 ms.
 */
const INSERT_ROWS = 50;
const RETENTION_MS = 90 * 24 * 3600 * 1000;
const PRUNE_EVERY_MS = 3600 * 1000;

type Row = typeof sshAccess.$inferInsert;

export class SshAccessLog {
  private buffer: Row[] = [];
  /** Events past the first MAX_ROWS_PER_FLUSH of a batch, one summary row per target|kind|result. */
  private dropped = new Map<string, Row>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private lastPrune = 0;

  constructor(
    private readonly db: Db,
    private readonly log: Pick<Logger, "error">,
  ) {}

  record(e: SshAccessEvent): void {
    const row: Row = {
      workspaceId: e.workspaceId,
      targetId: e.targetId,
      kind: e.kind,
      source: e.source?.slice(0, 100) ?? null,
      user: e.user.slice(0, 64),
      fingerprint: e.fingerprint?.slice(0, 100) ?? null,
      result: e.result.slice(0, 32),
      at: e.at ?? new Date(),
      more: 0,
    };
    // Only the first MAX_ROWS_PER_FLUSH of a second are written as they are; the rest are
    // folded now rather than at the flush. Holding them (5,000 a second in a lookup flood)
    // kept every one alive past a young-generation GC, and V8 promoted them into the old
    // space, which grew by tens of MiB a flood and was given back only at a major GC.
    if (this.buffer.length < MAX_ROWS_PER_FLUSH) this.buffer.push(row);
    else fold(this.dropped, row);
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
    this.timer.unref?.();
  }

  /** Writes what is buffered now (tests and shutdown call it; otherwise a timer does). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flushing;
    const rows = this.buffer;
    const dropped = this.dropped;
    this.buffer = [];
    this.dropped = new Map();
    if (!rows.length && !dropped.size) return;
    const out = [...rows, ...dropped.values()];
    this.flushing = (async () => {
      try {
        for (let i = 0; i < out.length; i += INSERT_ROWS) {
          if (i > 0) await new Promise<void>((r) => setImmediate(r));
          await insertRows(this.db, out.slice(i, i + INSERT_ROWS));
        }
        if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
          this.lastPrune = Date.now();
          await this.db.delete(sshAccess).where(lt(sshAccess.at, new Date(Date.now() - RETENTION_MS)));
        }
      } catch (err) {
        // The audit must never take logins down with it: logged, and the rest of the batch is lost.
        this.log.error({ err: err instanceof Error ? err.message : String(err), rows: out.length }, "could not record SSH access");
      }
    })();
    await this.flushing;
    this.flushing = null;
  }
}

/**
 * One INSERT for the whole batch with one array parameter per column (unnest), not
 * one parameter per value: building and parsing a 200-row VALUES list cost the
 * process tens of milliseconds a second during a login storm (and, on PGlite, every
 * other request's time with it).
 */
async function insertRows(db: Db, rows: Row[]): Promise<void> {
  const col = <K extends keyof Row>(k: K) => sql.param(rows.map((r) => r[k] ?? null));
  await db.execute(
    sql`insert into ${sshAccess} (workspace_id, target_id, at, kind, source, "user", fingerprint, result, more)
        select * from unnest(${col("workspaceId")}::uuid[], ${col("targetId")}::uuid[], ${sql.param(rows.map((r) => (r.at ?? new Date()).toISOString()))}::timestamptz[],
          ${col("kind")}::text[], ${col("source")}::text[], ${col("user")}::text[], ${col("fingerprint")}::text[], ${col("result")}::text[], ${col("more")}::int[])`,
  );
}

/** Folds `row` into one summary row per workspace, target, kind and result (`more` counts the others). */
function fold(into: Map<string, Row>, row: Row): void {
  const key = `${row.workspaceId}|${row.targetId}|${row.kind}|${row.result}`;
  const existing = into.get(key);
  if (existing) existing.more = (existing.more ?? 0) + 1;
  else into.set(key, row);
}

const accessLog = processGlobal<SshAccessLog | null>("ssh-access-log", () => null);

export function sshAccessLog(db: Db, log: Pick<Logger, "error">): SshAccessLog {
  return accessLog.get() ?? accessLog.set(new SshAccessLog(db, log));
}
