// /api/workspaces/{workspaceId}/targets/{targetId}
//   GET    – one target.
//   DELETE – unregister an OpenSSH target: its token stops working and its terminal sessions end.
import { withWorkspace } from "@/lib/auth/access";
import { ApiError } from "@/lib/http/errors";
import { defineRoute, json, param } from "@/lib/http/route";
import { removeTarget, requireWorkspaceTarget, targetView } from "@/lib/targets/registry";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: withWorkspace(async (_req, ctx) => json(targetView(await requireWorkspaceTarget(ctx.db, ctx.workspace.id, param(ctx, "targetId"))))),

  DELETE: withWorkspace(
    async (_req, ctx) => {
      const target = await requireWorkspaceTarget(ctx.db, ctx.workspace.id, param(ctx, "targetId"));
      if (target.kind === "local") throw new ApiError("conflict", "The embedded local target is managed by the server (MESHIA_LOCAL_TARGET).");
      await removeTarget(ctx.db, target, ctx.actor);
      return new Response(null, { status: 204 });
    },
    { role: "owner" },
  ),
});
