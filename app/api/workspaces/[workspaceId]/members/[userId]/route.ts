// DELETE /api/workspaces/{workspaceId}/members/{userId} – owners remove a member (not
// the last owner); the member's terminal sessions in this workspace end at once, on
// every instance (removeMember publishes member.removed; lib/terminal/server/registry.ts).
import { withWorkspace } from "@/lib/auth/access";
import { ApiError } from "@/lib/http/errors";
import { defineRoute, param } from "@/lib/http/route";
import { LastOwnerError, removeMember } from "@/lib/workspaces";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  DELETE: withWorkspace(
    async (_req, ctx) => {
      const userId = param(ctx, "userId");
      try {
        if (!(await removeMember(ctx.db, ctx.workspace.id, userId, ctx.actor))) throw new ApiError("not_found", "No such member.");
      } catch (err) {
        if (err instanceof LastOwnerError) throw new ApiError("conflict", err.message);
        throw err;
      }
      return new Response(null, { status: 204 });
    },
    { role: "owner" },
  ),
});
