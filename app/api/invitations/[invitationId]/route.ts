// GET /api/invitations/{invitationId} – what the invite page shows: the workspace, the
// invited email, and whether that email already has an account.
import { appDb } from "@/db/client";
import { openInvitation } from "@/lib/workspaces/invitations";
import { ApiError } from "@/lib/http/errors";
import { defineRoute, json, param } from "@/lib/http/route";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: async (_req, ctx) => {
    const inv = await openInvitation(await appDb(), param(ctx, "invitationId"));
    if (!inv) throw new ApiError("not_found", "This invitation is not valid any more (used, cancelled or expired).");
    return json({ id: inv.id, email: inv.email, role: inv.role, workspaceName: inv.workspaceName, hasAccount: inv.hasAccount, expiresAt: inv.expiresAt });
  },
});
