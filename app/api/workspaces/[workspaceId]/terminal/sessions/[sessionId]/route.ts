// DELETE /api/workspaces/{workspaceId}/terminal/sessions/{sessionId} – end a terminal session (its tab was closed).
import { withWorkspace } from "@/lib/auth/access";
import { findOwnedElsewhere } from "@/lib/terminal/cluster/instances";
import { publish } from "@/lib/events";
import { ApiError } from "@/lib/http/errors";
import { defineRoute, param } from "@/lib/http/route";
import { sessionRegistry } from "@/lib/terminal/server/registry";
import { isUuid } from "@/lib/util/uuid";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  DELETE: withWorkspace(async (_req, ctx) => {
    const id = param(ctx, "sessionId");
    const session = sessionRegistry().ownedBy(id, ctx.workspace.id, ctx.actor);
    if (session) {
      session.close("The tab was closed.");
    } else {
      // Held by another instance: it hears this and closes it (the registry handles the event).
      const owner = isUuid(id) ? await findOwnedElsewhere(ctx.db, id, ctx.workspace.id, ctx.actor) : null;
      if (!owner) throw new ApiError("not_found", "No such terminal session.");
      await publish(ctx.db, { type: "terminal-session.close", sessionId: id, workspaceId: ctx.workspace.id, userId: ctx.actor, reason: "The tab was closed." });
    }
    return new Response(null, { status: 204 });
  }),
});
