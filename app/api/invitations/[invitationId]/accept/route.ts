// POST /api/invitations/{invitationId}/accept – join the workspace. Signed in: as that
// user (who must be the invited email). Not signed in: {name, password} creates the
// account for the invited email and signs it in.
import { z } from "zod";
import { appDb } from "@/db/client";
import { assertSameOrigin } from "@/lib/auth/access";
import { auth } from "@/lib/auth/auth";
import { acceptInvitation } from "@/lib/workspaces/invitations";
import { principalFrom } from "@/lib/auth/principal";
import { accountFields } from "@/lib/auth/validate";
import { ApiError } from "@/lib/http/errors";
import type { JoinedWorkspace } from "@/lib/http/contract";
import { defineRoute, json, param, readJson } from "@/lib/http/route";

const newAccount = z.strictObject({ name: accountFields.name, password: accountFields.password });

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  POST: async (req, ctx) => {
    assertSameOrigin(req);
    const id = param(ctx, "invitationId");
    const principal = await principalFrom(req.headers);
    if (principal?.via === "token") throw new ApiError("forbidden", "Invitations are accepted by people, not API tokens.");
    const who = principal ? { userId: principal.userId, email: principal.email } : { newAccount: await readJson(req, newAccount) };
    const { workspaceId, headers } = await acceptInvitation(await appDb(), await auth(), id, who);
    const res = json({ workspaceId } satisfies JoinedWorkspace);
    for (const c of headers?.getSetCookie() ?? []) res.headers.append("Set-Cookie", c);
    return res;
  },
});
