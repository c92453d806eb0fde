// POST /api/workspaces/{workspaceId}/terminal/tickets – a single-use ticket (valid
// MESHIA_TICKET_TTL seconds) to open or resume a terminal socket on one target.
import { z } from "zod";
import { withWorkspace } from "@/lib/auth/access";
import { defineRoute, json, readJson } from "@/lib/http/route";
import { issueTerminalTicket, refuseWhileDraining } from "@/lib/terminal/server/issue-ticket";

const body = z.strictObject({
  targetId: z.string().max(64),
  /** Resume this session instead of opening a new one. */
  sessionId: z.string().max(64).optional(),
});

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute(
  {
    POST: withWorkspace(async (req, { db, workspace, principal }) =>
      json(await issueTerminalTicket(db, principal, { workspaceId: workspace.id, ...(await readJson(req, body)) })),
    ),
  },
  // First of all, as the terminal socket's handshake does: a draining instance says
  // so (503, Retry-After) whatever the request holds, and the client goes elsewhere.
  { before: refuseWhileDraining },
);
