// POST /api/workspaces/{workspaceId}/terminal/tickets – a single-use ticket (valid
// MESHIA_TICKET_TTL seconds) to open or resume a terminal socket on one target.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { withWorkspace } from "@/lib/auth/access";
import { countSessionsElsewhere, findOwnedElsewhere, OWNER_GONE_MESSAGE } from "@/lib/cluster/instances";
import { config } from "@/lib/config";
import { ApiError } from "@/lib/http/errors";
import { isDraining } from "@/lib/health";
import { defineRoute, json, readJson } from "@/lib/http/route";
import { effectiveStatus, findWorkspaceTarget } from "@/lib/targets/registry";
import { TERMINAL_PATH } from "@/lib/terminal/protocol";
import { sessionRegistry } from "@/lib/terminal/server/registry";
import { issueTicket, TicketCapError } from "@/lib/terminal/server/tickets";
import { metrics } from "@/lib/metrics";
import { isUuid } from "@/lib/workspaces";

const body = z.strictObject({
  targetId: z.string().max(64),
  /** Resume this session instead of opening a new one. */
  sessionId: z.string().max(64).optional(),
});

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  POST: withWorkspace(async (req, { db, workspace, actor, principal }) => {
    if (isDraining()) {
      throw new ApiError("unavailable", "This Meshia instance is shutting down; try again in a moment.", undefined, { "Retry-After": "5" });
    }
    const input = await readJson(req, body);
    const target = isUuid(input.targetId) ? await findWorkspaceTarget(db, workspace.id, input.targetId) : null;
    if (!target) throw new ApiError("not_found", "No such compute target in this workspace.");

    let sessionId: string;
    let isNew: boolean;
    if (input.sessionId !== undefined) {
      // Only the person who opened a session may resume it, here or on the instance holding it.
      const session = sessionRegistry().ownedBy(input.sessionId, workspace.id, actor);
      if (!session || session.targetId !== target.id) {
        const owner = session ? null : await findOwnedElsewhere(db, input.sessionId, workspace.id, actor, target.id);
        if (!owner) throw new ApiError("not_found", "This terminal session has ended or expired.", { reason: "session_gone" });
        if (!owner.alive) throw new ApiError("not_found", OWNER_GONE_MESSAGE, { reason: "owner_gone" });
      }
      sessionId = input.sessionId;
      isNew = false;
    } else {
      if (effectiveStatus(target, config().targetLiveWindowMs) !== "live") {
        throw new ApiError("conflict", `The compute target "${target.name}" is not running.`, { reason: "target_not_live" });
      }
      sessionId = randomUUID();
      isNew = true;
    }
    const terminal = config().terminal;
    let issued: Awaited<ReturnType<typeof issueTicket>>;
    try {
      issued = await issueTicket(
        db,
        { workspaceId: workspace.id, targetId: target.id, sessionId, isNew, actor, via: principal.via, tokenId: principal.tokenId ?? null },
        terminal.ticketTtlMs,
        {
          maxOutstanding: terminal.maxTicketsPerUser,
          maxSessions: terminal.maxSessionsPerUser,
          // Sessions held here, and on the other instances sharing this database.
          openSessions: async (userId) => sessionRegistry().countForUser(userId) + (await countSessionsElsewhere(db, userId)),
        },
      );
    } catch (err) {
      if (!(err instanceof TicketCapError)) throw err;
      metrics().limitsHit.inc({ limit: err.cap === "sessions" ? "terminal-sessions-per-user" : "terminal-tickets-per-user" });
      const retry = String(err.retryAfterSeconds);
      throw new ApiError(
        "rate_limited",
        err.message,
        { reason: err.cap === "sessions" ? "session_cap" : "ticket_cap", limit: err.limit, retryAfterSeconds: err.retryAfterSeconds },
        { "Retry-After": retry },
      );
    }
    const { ticket, expiresAt } = issued;
    return json({ ticket, sessionId, path: TERMINAL_PATH, expiresAt: expiresAt.toISOString() });
  }),
});
