// Leader election on one Postgres, for work exactly one instance may do (the embedded
// compute target): a session-level advisory lock held on a connection of its own. The
// holder leads while that connection lives; when it drops (the instance dies, the
// database restarts, the network fails) Postgres releases the lock, the old leader
// stops its work as soon as it notices, and another instance's next try takes it.
// On PGlite there is one process: it leads at once.
import { sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import type { Logger } from "@/lib/log";

/** The advisory lock's name (hashed to its key by hashtextextended). */
const lockName = (name: string) => `meshia:leader:${name}`;

/**
 * Whether some instance leads `name` right now, as Postgres sees it: a session holds
 * the advisory lock in this database. (A bigint lock shows in pg_locks as classid,
 * the high 32 bits, and objid, the low 32, with objsubid 1.)
 */
export async function leaderPresent(db: Pick<Db, "execute">, name: string): Promise<boolean> {
  const r = await db.execute(sql`
    SELECT EXISTS (
      SELECT 1 FROM pg_locks
      WHERE locktype = 'advisory' AND granted AND objsubid = 1
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ((classid::bigint << 32) | objid::bigint) = hashtextextended(${lockName(name)}, 0)
    ) AS held`);
  // node-postgres and PGlite both answer { rows }; drizzle types the two differently.
  return (r as unknown as { rows: { held: boolean }[] }).rows[0]?.held === true;
}

export interface LeaderOptions {
  /** Postgres URL; undefined on PGlite (one process: always the leader). */
  url: string | undefined;
  /** What is being led; instances contending for the same name exclude each other. */
  name: string;
  log: Pick<Logger, "info" | "warn" | "error">;
  /** How often a follower tries to take over, and a leader checks its connection. */
  retryMs?: number;
  /** Became the leader: start the work. */
  onElected(): Promise<void>;
  /** No longer the leader (or stopping): stop the work. Runs even when the database is gone. */
  onDeposed(): Promise<void>;
}

type PgClient = InstanceType<(typeof import("pg"))["default"]["Client"]>;

export class LeaderElection {
  private client: PgClient | null = null;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  /** One step at a time: a try, a check, a deposition, the stop. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: LeaderOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  private get retryMs(): number {
    return this.opts.retryMs ?? 5_000;
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Tries once now (so a lone instance leads before it serves), then keeps trying or checking. */
  async start(): Promise<void> {
    if (!this.opts.url) {
      this.leading = true;
      await this.opts.onElected();
      return;
    }
    await this.serial(() => this.step());
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.serial(() => this.step()).finally(() => this.schedule());
    }, this.retryMs);
    this.timer.unref();
  }

  private async connect(): Promise<PgClient> {
    const pg = (await import("pg")).default;
    const c = new pg.Client({ connectionString: this.opts.url, keepAlive: true, query_timeout: Math.max(2_000, this.retryMs), connectionTimeoutMillis: 5_000 });
    c.on("error", (err) => {
      this.opts.log.warn({ err: err.message, leading: this.leading, name: this.opts.name }, "leader election connection failed");
      void this.serial(() => this.lost(c));
    });
    c.on("end", () => void this.serial(() => this.lost(c)));
    await c.connect();
    return c;
  }

  /** The connection `c` is gone: so is the lock, if we held it. */
  private async lost(c: PgClient): Promise<void> {
    if (this.client !== c) return;
    this.client = null;
    c.end().catch(() => undefined);
    await this.depose("its database connection was lost");
  }

  private async depose(why: string): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.opts.log.warn({ name: this.opts.name, why }, "no longer the leader: stopping");
    await this.opts.onDeposed().catch((err: unknown) => this.opts.log.error({ err, name: this.opts.name }, "stopping after losing the lead failed"));
  }

  private async step(): Promise<void> {
    if (this.stopped) return;
    try {
      this.client ??= await this.connect();
      if (this.leading) {
        // Still the same session (so still holding the lock)? A dead link shows here.
        await this.client.query("SELECT 1");
        return;
      }
      const r = await this.client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok", [lockName(this.opts.name)]);
      if (!r.rows[0]?.ok) return;
      this.leading = true;
      this.opts.log.info({ name: this.opts.name }, "elected leader");
      try {
        await this.opts.onElected();
      } catch (err) {
        // Could not start the work: give the lead up so another instance may try.
        this.opts.log.error({ err, name: this.opts.name }, "could not start as leader; giving the lead up");
        this.leading = false;
        await this.client?.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [lockName(this.opts.name)]).catch(() => undefined);
      }
    } catch (err) {
      const c = this.client;
      if (c) await this.lost(c);
      else
        this.opts.log.warn(
          { err: err instanceof Error ? err.message : String(err), name: this.opts.name },
          "leader election could not reach the database; retrying",
        );
    }
  }

  /** Stops the work (when leading) and releases the lead to the other instances. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.serial(async () => {
      await this.depose("stopping");
      const c = this.client;
      this.client = null;
      // Closing the session releases its advisory locks.
      await c?.end().catch(() => undefined);
    });
  }
}
