// DELETE /api/workspaces/{workspaceId}/members/{userId} – owners remove a member (not
// the last owner: 409); removeMember revokes their tokens here and ends their terminals.
import { withWorkspace } from "@/lib/auth/access";
import { ApiError } from "@/lib/http/errors";
import { defineRoute, param } from "@/lib/http/route";
import { removeMember } from "@/lib/workspaces/members";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  DELETE: withWorkspace(
    async (_req, ctx) => {
      if (!(await removeMember(ctx.db, ctx.workspace.id, param(ctx, "userId"), ctx.actor))) throw new ApiError("not_found", "No such member.");
      return new Response(null, { status: 204 });
    },
    { role: "owner" },
  ),
});
