// DELETE /api/workspaces/{workspaceId}/terminal/sessions/{sessionId} – end a terminal session (its tab was closed).
import { withWorkspace } from "@/lib/auth/access";
import { ApiError } from "@/lib/http/errors";
import { defineRoute, param } from "@/lib/http/route";
import { sessionRegistry } from "@/lib/terminal/registry";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  DELETE: withWorkspace(async (_req, ctx) => {
    const session = sessionRegistry().ownedBy(param(ctx, "sessionId"), ctx.workspace.id, ctx.actor);
    if (!session) throw new ApiError("not_found", "No such terminal session.");
    session.close("The tab was closed.");
    return new Response(null, { status: 204 });
  }),
});
