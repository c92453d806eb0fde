// POST /api/workspaces/{workspaceId}/targets/{targetId}/bridge-credential – owners
// rotate the target's bridge credential (the key the web terminal logs in with):
// the old one is refused from the target's next login, and terminals open on the
// target end, since they were opened with it.
import { withWorkspace } from "@/lib/auth/access";
import { config } from "@/lib/config";
import { ApiError } from "@/lib/http/errors";
import { defineRoute, json, param } from "@/lib/http/route";
import { findWorkspaceTarget, rotateBridgeCredential, targetView } from "@/lib/targets/registry";
import { isUuid } from "@/lib/workspaces";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  POST: withWorkspace(
    async (_req, ctx) => {
      const id = param(ctx, "targetId");
      const target = isUuid(id) ? await findWorkspaceTarget(ctx.db, ctx.workspace.id, id) : null;
      if (!target) throw new ApiError("not_found", "No such compute target in this workspace.");
      const rotated = await rotateBridgeCredential(ctx.db, target, ctx.actor);
      return json({ target: targetView(rotated, config().targetLiveWindowMs), bridgeGeneration: rotated.bridgeGeneration });
    },
    { role: "owner" },
  ),
});
