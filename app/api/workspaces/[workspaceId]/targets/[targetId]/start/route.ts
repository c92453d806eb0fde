// POST /api/workspaces/{workspaceId}/targets/{targetId}/start – boot the embedded target again (owners): a new port and boot id, the same host key and volume.
import { withWorkspace } from "@/lib/auth/access";
import { defineRoute, json, param } from "@/lib/http/route";
import { startTarget } from "@/lib/targets/power";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  POST: withWorkspace(async (_req, ctx) => json(await startTarget(ctx.db, ctx.workspace.id, param(ctx, "targetId"), ctx.actor)), { role: "owner" }),
});
