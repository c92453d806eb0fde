// What POST …/terminal/tickets does: checks that a terminal may be opened (a live
// target) or resumed (a session of this person's, here or on another instance), then
// issues a single-use ticket within the per-person caps.
import type { TerminalTicket } from "@/lib/http/contract";
import { randomUUID } from "node:crypto";
import type { Db } from "@/db/client";
import type { Principal } from "@/lib/auth/principal";
import { countSessionsElsewhere, findOwnedElsewhere, OWNER_GONE_MESSAGE } from "@/lib/terminal/cluster/instances";
import { config } from "@/lib/config";
import { isDraining } from "@/lib/health";
import { ApiError } from "@/lib/http/errors";
import { metrics } from "@/lib/metrics";
import { effectiveStatus, requireWorkspaceTarget } from "@/lib/targets/registry";
import { TERMINAL_PATH } from "@/lib/terminal/protocol";
import { sessionRegistry } from "./registry";
import { issueTicket, TicketCapError } from "./tickets";

export interface TicketRequest {
  workspaceId: string;
  targetId: string;
  /** Resume this session instead of opening a new one. */
  sessionId?: string | undefined;
}

/** The session id the ticket opens: a new one on a live target, or one of the caller's own to resume. */
async function sessionFor(
  db: Db,
  req: TicketRequest,
  actor: string,
  target: { id: string; name: string },
  live: boolean,
): Promise<{ id: string; isNew: boolean }> {
  if (req.sessionId === undefined) {
    if (!live) throw new ApiError("conflict", `The compute target "${target.name}" is not running.`, { reason: "target_not_live" });
    return { id: randomUUID(), isNew: true };
  }
  // Only the person who opened a session may resume it, here or on the instance holding it.
  const session = sessionRegistry().ownedBy(req.sessionId, req.workspaceId, actor);
  if (!session || session.targetId !== target.id) {
    const owner = session ? null : await findOwnedElsewhere(db, req.sessionId, req.workspaceId, actor, target.id);
    if (!owner) throw new ApiError("not_found", "This terminal session has ended or expired.", { reason: "session_gone" });
    if (!owner.alive) throw new ApiError("not_found", OWNER_GONE_MESSAGE, { reason: "owner_gone" });
  }
  return { id: req.sessionId, isNew: false };
}

/**
 * While this instance drains (SIGTERM), 503 with Retry-After: the client retries and
 * the load balancer, which already sees it not ready, sends it elsewhere. The route
 * runs it before anything else (body, size, authentication), so a draining instance
 * answers this whatever the request holds.
 */
export function refuseWhileDraining(): void {
  if (isDraining()) {
    throw new ApiError("unavailable", "This Meshia instance is shutting down; try again in a moment.", undefined, { "Retry-After": "5" });
  }
}

export async function issueTerminalTicket(db: Db, principal: Principal, req: TicketRequest): Promise<TerminalTicket> {
  refuseWhileDraining();
  const actor = principal.userId;
  const target = await requireWorkspaceTarget(db, req.workspaceId, req.targetId);
  const session = await sessionFor(db, req, actor, target, effectiveStatus(target) === "live");
  const terminal = config().terminal;
  const binding = {
    workspaceId: req.workspaceId,
    targetId: target.id,
    sessionId: session.id,
    isNew: session.isNew,
    actor,
    via: principal.via,
    tokenId: principal.tokenId ?? null,
  };
  const { ticket, expiresAt } = await issueTicket(db, binding, terminal.ticketTtlMs, {
    maxOutstanding: terminal.maxTicketsPerUser,
    maxSessions: terminal.maxSessionsPerUser,
    // Sessions held here, and on the other instances sharing this database.
    openSessions: async (userId) => sessionRegistry().countForUser(userId) + (await countSessionsElsewhere(db, userId)),
  }).catch((err: unknown) => {
    if (err instanceof TicketCapError) metrics().limitsHit.inc({ limit: err.cap === "sessions" ? "terminal-sessions-per-user" : "terminal-tickets-per-user" });
    throw err;
  });
  return { ticket, sessionId: session.id, path: TERMINAL_PATH, expiresAt: expiresAt.toISOString() };
}
