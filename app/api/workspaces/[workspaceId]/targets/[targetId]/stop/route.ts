// POST /api/workspaces/{workspaceId}/targets/{targetId}/stop – stop the embedded target (owners): every connection and terminal session on it ends.
import { withWorkspace } from "@/lib/auth/access";
import { defineRoute, json, param } from "@/lib/http/route";
import { stopTarget } from "@/lib/targets/power";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  POST: withWorkspace(async (_req, ctx) => json(await stopTarget(ctx.db, ctx.workspace.id, param(ctx, "targetId"), ctx.actor)), { role: "owner" }),
});
