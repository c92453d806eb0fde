// DELETE /api/workspaces/{workspaceId}/tokens/{tokenId} – revoke one of the caller's API tokens.
import { withWorkspace } from "@/lib/auth/access";
import { revokeToken } from "@/lib/workspaces/tokens";
import { defineRoute, param } from "@/lib/http/route";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  DELETE: withWorkspace(async (_req, ctx) => {
    await revokeToken(ctx.db, { userId: ctx.principal.userId, workspaceId: ctx.workspace.id, tokenId: param(ctx, "tokenId") });
    return new Response(null, { status: 204 });
  }),
});
