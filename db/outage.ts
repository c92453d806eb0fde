// When the database goes away: recognising its errors, one log line per outage (not
// one per failed query), and the 503 every caller answers meanwhile. Recovery needs
// no restart: the pool makes new connections once the database answers again.
import { sql } from "drizzle-orm";
import type { Db } from "./client";
import { DATABASE_UNAVAILABLE_DIGEST } from "@/lib/database-unavailable";
import { processGlobal } from "@/lib/global";
import { logger } from "@/lib/log";
import { metrics } from "@/lib/metrics";
import { BrandedError } from "@/lib/util/branded-error";

/** Seconds a client is told to wait before trying again. */
export const OUTAGE_RETRY_AFTER_SECONDS = 5;
export const UNAVAILABLE_MESSAGE = "Meshia cannot reach its database right now; try again shortly.";

/** Thrown where a caller must stop because the database did not answer. */
export class DatabaseUnavailableError extends BrandedError {
  static override readonly brand: string = "DatabaseUnavailableError";
  /** What a page's error boundary sees (Next keeps a digest an error already has). */
  readonly digest = DATABASE_UNAVAILABLE_DIGEST;
  constructor(cause?: unknown) {
    super(UNAVAILABLE_MESSAGE, { cause });
  }
}

// Socket-level failures, and Postgres's SQL states for "connection exception" (08…)
// and "operator intervention" (57P01 admin shutdown, 57P02 crash shutdown, 57P03
// cannot connect now).
const NODE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
const PG_CODES = /^(08\d{3}|57P0[123])$/;
const MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|connection error and is not queryable|Client was closed and is not queryable|Cannot use a pool after calling end/i;

/** Whether `err` (or anything in its cause chain) says the database cannot be reached. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === "object" && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof DatabaseUnavailableError) return true;
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === "string" && (NODE_CODES.has(code) || PG_CODES.test(code))) return true;
    if (typeof message === "string" && MESSAGES.test(message)) return true;
  }
  return false;
}

interface OutageState {
  since: number | null;
  failures: number;
}

/** A test forgets it to start outside an outage. */
export const outageState = processGlobal<OutageState>("database-outage", () => ({ since: null, failures: 0 }));

function state(): OutageState {
  return outageState.get();
}

/** The database is known to be unreachable (since a failure, until a connection succeeds). */
export function databaseDown(): boolean {
  return state().since !== null;
}

/** Notes a failure; the first of an outage is logged, the rest only counted. */
export function reportDatabaseError(err: unknown): void {
  const s = state();
  s.failures++;
  if (s.since !== null) return;
  s.since = Date.now();
  metrics().databaseOutages.inc();
  const e = err as { code?: unknown; message?: unknown };
  logger().error(
    {
      event: "database.unreachable",
      code: typeof e?.code === "string" ? e.code : undefined,
      reason: typeof e?.message === "string" ? e.message.split("\n")[0] : String(err),
    },
    "the database cannot be reached: API calls answer 503 and SSH logins are refused until it is back",
  );
}

/** Notes that the database answered; ends an outage (with one line saying so). */
export function reportDatabaseOk(): void {
  const s = state();
  if (s.since === null) return;
  logger().info(
    { event: "database.recovered", downSeconds: Math.round((Date.now() - s.since) / 1000), failedCalls: s.failures },
    "the database is reachable again",
  );
  s.since = null;
  s.failures = 0;
}

/** True when the database answers `SELECT 1` within `timeoutMs`; notes the outcome. */
export async function pingDatabase(db: Db, timeoutMs = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([db.execute(sql`SELECT 1`), new Promise((_, reject) => (timer = setTimeout(() => reject(new DatabaseUnavailableError()), timeoutMs)))]);
    reportDatabaseOk();
    return true;
  } catch (err) {
    reportDatabaseError(err);
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * For callers that turn "no answer" into "not signed in": when looking something up
 * failed (or found nothing), this tells a missing row from a missing database.
 * Throws DatabaseUnavailableError when the database does not answer.
 */
export async function assertDatabaseReachable(db: Db, err?: unknown): Promise<void> {
  if (err !== undefined && isDatabaseUnavailable(err)) {
    reportDatabaseError(err);
    throw new DatabaseUnavailableError(err);
  }
  if (!(await pingDatabase(db))) throw new DatabaseUnavailableError(err);
}
