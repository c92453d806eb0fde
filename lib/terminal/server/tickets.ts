// Single-use tickets for opening a terminal socket: issued by a POST route (where
// the workspace and target are checked), consumed by the WebSocket handshake. They
// are rows in the database, so a ticket issued by one instance opens the socket on
// any other, exactly once (the consume is one atomic DELETE … RETURNING). Only the
// ticket's SHA-256 is stored: a copy of the table opens no terminal.
import { createHash, randomBytes } from "node:crypto";
import { and, count, eq, gt, lt, sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { terminalTickets } from "@/db/schema";
import { ApiError } from "@/lib/http/errors";
import { isUuid } from "@/lib/util/uuid";

export interface TicketBinding {
  workspaceId: string;
  targetId: string;
  sessionId: string;
  /** A new session is created on connect; otherwise an existing one is resumed. */
  isNew: boolean;
  actor: string | null;
  /**
   * How the ticket's requester was signed in: the socket must come from the same
   * principal, a browser session or the very same API token (whose scope is one
   * workspace), not merely from the same user.
   */
  via: "session" | "token";
  tokenId: string | null;
}

export interface TicketLimits {
  /** Tickets one person may hold unused at once. */
  maxOutstanding: number;
  /** Terminal sessions one person may have open; new-session tickets count as sessions about to open. */
  maxSessions: number;
  /** How many sessions the person has open now (counted by the caller). */
  openSessions: (userId: string) => number | Promise<number>;
}

/** Over one of the per-person caps: nothing was issued (a 429 with Retry-After). */
export class TicketCapError extends ApiError {
  static override readonly brand: string = "TicketCapError";
  constructor(
    readonly cap: "sessions" | "tickets",
    readonly limit: number,
    readonly retryAfterSeconds: number,
  ) {
    super(
      "rate_limited",
      cap === "sessions"
        ? `You already have ${limit} terminal sessions open, the most one person may have. Close a terminal tab you no longer need, then try again.`
        : `You have ${limit} unused terminal tickets, the most one person may hold. Wait ${retryAfterSeconds} s for them to expire, then try again.`,
      { reason: cap === "sessions" ? "session_cap" : "ticket_cap", limit, retryAfterSeconds },
      { "Retry-After": String(retryAfterSeconds) },
    );
  }
}

/** Expired rows are swept at most this often per process (consume ignores them anyway). */
const SWEEP_EVERY_MS = 60_000;
let lastSweep = 0;

export function hashTicket(ticket: string): string {
  return createHash("sha256").update(ticket).digest("hex");
}

/**
 * Issues a ticket valid for `ttlMs` (by the database's clock, which every instance
 * shares). With `limits`, the person's outstanding tickets and open sessions are
 * counted under a per-person advisory lock, so concurrent requests on any number of
 * instances cannot slip past the caps together.
 */
export async function issueTicket(db: Db, binding: TicketBinding, ttlMs: number, limits?: TicketLimits): Promise<{ ticket: string; expiresAt: Date }> {
  const ticket = randomBytes(24).toString("base64url");
  const ttl = Math.max(1, Math.round(ttlMs));
  const row = {
    ticketHash: hashTicket(ticket),
    workspaceId: binding.workspaceId,
    targetId: binding.targetId,
    sessionId: binding.sessionId,
    isNew: binding.isNew,
    userId: binding.actor,
    via: binding.via,
    tokenId: binding.tokenId,
    expiresAt: sql`now() + ${ttl} * interval '1 millisecond'`,
  };
  const userId = binding.actor;
  const inserted = await db.transaction(async (tx) => {
    if (limits && userId) {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`meshia:tickets:${userId}`}, 0))`);
      const live = and(eq(terminalTickets.userId, userId), gt(terminalTickets.expiresAt, sql`now()`));
      const [held] = await tx
        .select({
          all: count(),
          forNew: sql<number>`count(*) filter (where ${terminalTickets.isNew})`.mapWith(Number),
          wait: sql<number>`ceil(extract(epoch from min(${terminalTickets.expiresAt}) - now()))`.mapWith(Number),
        })
        .from(terminalTickets)
        .where(live);
      if ((held?.all ?? 0) >= limits.maxOutstanding) {
        throw new TicketCapError("tickets", limits.maxOutstanding, Math.max(1, held?.wait ?? 1));
      }
      if (binding.isNew && (await limits.openSessions(userId)) + (held?.forNew ?? 0) >= limits.maxSessions) {
        throw new TicketCapError("sessions", limits.maxSessions, 10);
      }
    }
    const [r] = await tx.insert(terminalTickets).values(row).returning({ expiresAt: terminalTickets.expiresAt });
    return r!;
  });
  if (Date.now() - lastSweep > SWEEP_EVERY_MS) {
    lastSweep = Date.now();
    await db.delete(terminalTickets).where(lt(terminalTickets.expiresAt, sql`now()`));
  }
  return { ticket, expiresAt: inserted.expiresAt };
}

/** Returns the binding once, on whichever instance; a second use, an unknown or an expired ticket gets null. */
export async function consumeTicket(db: Db, ticket: string | null | undefined): Promise<TicketBinding | null> {
  if (!ticket || ticket.length > 256) return null;
  const [row] = await db
    .delete(terminalTickets)
    .where(eq(terminalTickets.ticketHash, hashTicket(ticket)))
    .returning({
      workspaceId: terminalTickets.workspaceId,
      targetId: terminalTickets.targetId,
      sessionId: terminalTickets.sessionId,
      isNew: terminalTickets.isNew,
      userId: terminalTickets.userId,
      via: terminalTickets.via,
      tokenId: terminalTickets.tokenId,
      live: sql<boolean>`${terminalTickets.expiresAt} > now()`,
    });
  if (!row || !row.live) return null;
  return {
    workspaceId: row.workspaceId,
    targetId: row.targetId,
    sessionId: row.sessionId,
    isNew: row.isNew,
    actor: row.userId,
    via: row.via,
    tokenId: row.tokenId,
  };
}

/** Unused, unexpired tickets a person holds (across every instance). */
export async function outstandingTickets(db: Db, userId: string): Promise<number> {
  if (!isUuid(userId)) return 0;
  const [r] = await db
    .select({ n: count() })
    .from(terminalTickets)
    .where(and(eq(terminalTickets.userId, userId), gt(terminalTickets.expiresAt, sql`now()`)));
  return r?.n ?? 0;
}
