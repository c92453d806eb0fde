// Per-key request limits for expensive or sensitive routes (sign-in, key generation,
// wrong target tokens), with rate-limiter-flexible. On Postgres the counts live in the
// `rate_limits` table (RateLimiterPostgres), so a limit holds across every instance
// behind the load balancer; on PGlite (one process) they live in memory.
//
// When the store cannot be reached (the database is down), a limit fails closed:
// `limit` answers 503 with Retry-After rather than letting requests through uncounted
// (what it guards needs the database anyway). Limiters made with `insured` fall back
// to this process's memory instead (the wrong-target-token limit: refusing every
// target lookup because the limit's table is unreachable would add nothing).
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { appDb, type Db } from "@/db/client";
import { isDatabaseUnavailable, OUTAGE_RETRY_AFTER_SECONDS, reportDatabaseError, UNAVAILABLE_MESSAGE } from "@/db/outage";
import { processGlobal } from "@/lib/global";
import { logger } from "@/lib/log";
import { metrics } from "@/lib/metrics";
import { ApiError } from "./errors";

export interface Rule {
  max: number;
  windowSeconds: number;
}

export const RATE_LIMIT_TABLE = "rate_limits";

/** node-postgres' Pool behind a Drizzle handle, or null for PGlite. */
function pgPool(db: Db): object | null {
  const client = (db as unknown as { $client?: unknown }).$client;
  // A Pool counts its clients; PGlite has no such thing.
  return client && typeof client === "object" && "totalCount" in client ? client : null;
}

/** A named limit; the counts live where the database `db` says (Postgres: shared; PGlite: memory). */
export class Limiter {
  private readonly stores = new WeakMap<object, RateLimiterAbstract>();
  private memory: RateLimiterMemory | null = null;

  constructor(
    readonly name: string,
    readonly rule: Rule,
    private readonly opts: { insured?: boolean } = {},
  ) {}

  get keyPrefix(): string {
    return this.name;
  }

  private inMemory(): RateLimiterMemory {
    return (this.memory ??= new RateLimiterMemory({ keyPrefix: this.name, points: this.rule.max, duration: this.rule.windowSeconds }));
  }

  /** The store for `db`: Postgres when `db` is on Postgres, this process's memory otherwise. */
  store(db: Db): RateLimiterAbstract {
    const pool = pgPool(db);
    if (!pool) return this.inMemory();
    let s = this.stores.get(pool);
    if (!s) {
      s = new RateLimiterPostgres({
        storeClient: pool,
        storeType: "pool",
        tableName: RATE_LIMIT_TABLE,
        // Our migrations create it (db/schema.ts); the app runs no DDL at request time.
        tableCreated: true,
        keyPrefix: this.name,
        points: this.rule.max,
        duration: this.rule.windowSeconds,
        // A key over the limit is also remembered here until its window ends: this
        // instance refuses it without asking the database again.
        inMemoryBlockOnConsumed: this.rule.max + 1,
        ...(this.opts.insured
          ? { insuranceLimiter: new RateLimiterMemory({ keyPrefix: this.name, points: this.rule.max, duration: this.rule.windowSeconds }) }
          : {}),
      });
      this.stores.set(pool, s);
    }
    return s;
  }

  /** Spends one point for `key`: 0 when allowed, else the seconds until it may try again. Throws when the store fails (and is not insured). */
  async consume(db: Db, key: string): Promise<number> {
    try {
      await this.store(db).consume(key);
      return 0;
    } catch (err) {
      if (err instanceof RateLimiterRes) return Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      throw err;
    }
  }

  /**
   * Seconds `key` is still blocked for as far as this instance knows without a query
   * (0 when not): on Postgres only keys this instance saw go over the limit, so a hot
   * path can ask it on every request for free. Synchronous: memory only, both ways.
   */
  blockedHere(db: Db, key: string): number {
    const s = this.store(db);
    let ms: number;
    if (s instanceof RateLimiterPostgres) {
      // Public in the library's JavaScript, missing from its type declarations.
      ms = (s as unknown as { getInMemoryBlockMsBeforeExpire(k: string): number }).getInMemoryBlockMsBeforeExpire(s.getKey(key));
    } else {
      // RateLimiterMemory.get wraps this synchronous read in a promise; the hot path needs no promise.
      const storage = (s as unknown as { _memoryStorage: { get(k: string): { consumedPoints: number; msBeforeNext: number } | null } })._memoryStorage;
      const state = storage.get(s.getKey(key));
      ms = state && state.consumedPoints >= this.rule.max ? state.msBeforeNext : 0;
    }
    return ms > 0 ? Math.max(1, Math.ceil(ms / 1000)) : 0;
  }
}

/** The process's limiters by name; a test forgets them all to start from full budgets and fresh rules. */
export const rateLimiters = processGlobal("rate-limiters", () => new Map<string, Limiter>());

export function rateLimiter(name: string, rule: Rule, opts: { insured?: boolean } = {}): Limiter {
  const all = rateLimiters.get();
  let found = all.get(name);
  if (!found) all.set(name, (found = new Limiter(name, rule, opts)));
  return found;
}

/**
 * Spends one request for `key`, or throws 429 with Retry-After. With the store
 * unreachable: 503 with Retry-After (fail closed).
 */
export async function limit(limiter: Limiter, key: string, what: string, db?: Db): Promise<void> {
  let retry: number;
  try {
    retry = await limiter.consume(db ?? (await appDb()), key);
  } catch (err) {
    // Fail closed. A database outage is logged once for the whole process (db/outage.ts).
    if (isDatabaseUnavailable(err)) reportDatabaseError(err);
    else logger().warn({ err, limit: limiter.name }, "rate limit store failed: refusing (503)");
    throw new ApiError("unavailable", UNAVAILABLE_MESSAGE, undefined, { "Retry-After": String(OUTAGE_RETRY_AFTER_SECONDS) });
  }
  if (retry) throw rateLimited(limiter, what, retry);
}

/** The 429 of `limiter` (counted in the metrics), for a caller who may try again in `retry` seconds. */
export function rateLimited(limiter: Limiter, what: string, retry: number): ApiError {
  metrics().limitsHit.inc({ limit: limiter.keyPrefix });
  return new ApiError("rate_limited", `Too many ${what}; try again in ${retry} s.`, { retryAfterSeconds: retry }, { "Retry-After": String(retry) });
}
