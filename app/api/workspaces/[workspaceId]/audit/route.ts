// GET /api/workspaces/{workspaceId}/audit – the workspace's audit trail and terminal sessions, newest first.
import { withWorkspace } from "@/lib/auth/access";
import { workspaceAudit } from "@/lib/audit";
import { defineRoute, json } from "@/lib/http/route";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: withWorkspace(async (_req, { db, workspace }) => json(await workspaceAudit(db, workspace.id))),
});
