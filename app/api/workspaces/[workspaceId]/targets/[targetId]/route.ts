// /api/workspaces/{workspaceId}/targets/{targetId}
//   GET    – one target.
//   DELETE – unregister an OpenSSH target: its token stops working and its terminal sessions end.
import { withWorkspace } from "@/lib/auth/access";
import { config } from "@/lib/config";
import { ApiError } from "@/lib/http/errors";
import { defineRoute, json, param } from "@/lib/http/route";
import { findWorkspaceTarget, removeTarget, targetView } from "@/lib/targets/registry";
import { isUuid } from "@/lib/workspaces";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: withWorkspace(async (_req, ctx) => {
    const id = param(ctx, "targetId");
    const target = isUuid(id) ? await findWorkspaceTarget(ctx.db, ctx.workspace.id, id) : null;
    if (!target) throw new ApiError("not_found", "No such compute target in this workspace.");
    return json(targetView(target, config().targetLiveWindowMs));
  }),

  DELETE: withWorkspace(
    async (_req, ctx) => {
      const id = param(ctx, "targetId");
      const target = isUuid(id) ? await findWorkspaceTarget(ctx.db, ctx.workspace.id, id) : null;
      if (!target) throw new ApiError("not_found", "No such compute target in this workspace.");
      if (target.kind === "local") throw new ApiError("conflict", "The embedded local target is managed by the server (MESHIA_LOCAL_TARGET).");
      await removeTarget(ctx.db, target, ctx.actor);
      return new Response(null, { status: 204 });
    },
    { role: "owner" },
  ),
});
