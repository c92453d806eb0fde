// DELETE /api/workspaces/{workspaceId}/invitations/{invitationId} – owners cancel a pending invitation.
import { withWorkspace } from "@/lib/auth/access";
import { cancelInvitation } from "@/lib/workspaces/invitations";
import { defineRoute, param } from "@/lib/http/route";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  DELETE: withWorkspace(
    async (_req, ctx) => {
      await cancelInvitation(ctx.db, ctx.workspace.id, param(ctx, "invitationId"), ctx.actor);
      return new Response(null, { status: 204 });
    },
    { role: "owner" },
  ),
});
