// POST /api/workspaces/{workspaceId}/targets/{targetId}/bridge-credential – owners
// rotate the target's bridge credential (the key the web terminal logs in with):
// the old one is refused from the target's next login, and terminals open on the
// target end, since they were opened with it.
import { withWorkspace } from "@/lib/auth/access";
import { defineRoute, json, param } from "@/lib/http/route";
import { requireWorkspaceTarget, rotateBridgeCredential, targetView } from "@/lib/targets/registry";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  POST: withWorkspace(
    async (_req, ctx) => {
      const target = await requireWorkspaceTarget(ctx.db, ctx.workspace.id, param(ctx, "targetId"));
      const rotated = await rotateBridgeCredential(ctx.db, target, ctx.actor);
      return json({ target: targetView(rotated), bridgeGeneration: rotated.bridgeGeneration });
    },
    { role: "owner" },
  ),
});
