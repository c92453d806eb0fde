// /api/workspaces/{workspaceId}/invitations (owners)
//   GET  – pending invitations.
//   POST – invite {email, role}: returns the invitation and the link to give the person.
import { z } from "zod";
import { withWorkspace } from "@/lib/auth/access";
import { invite, listInvitations } from "@/lib/workspaces/invitations";
import { accountFields, roleField } from "@/lib/auth/validate";
import { requestOrigin } from "@/lib/http/origin";
import type { InvitationWithLink, InvitationsResponse } from "@/lib/http/contract";
import { defineRoute, json, readJson } from "@/lib/http/route";

const body = z.strictObject({ email: accountFields.email, role: roleField.default("member") });

const linkFor = (req: Request, id: string) => `${requestOrigin(req.headers)}/invite/${id}`;

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: withWorkspace(
    async (req, { db, workspace }) => {
      const rows = await listInvitations(db, workspace.id);
      return json({ invitations: rows.map((i) => ({ ...i, link: linkFor(req, i.id) })) } satisfies InvitationsResponse);
    },
    { role: "owner" },
  ),
  POST: withWorkspace(
    async (req, { db, workspace, actor }) => {
      const input = await readJson(req, body);
      const inv = await invite(db, workspace, { email: input.email, role: input.role, inviterId: actor });
      return json({ ...inv, link: linkFor(req, inv.id) } satisfies InvitationWithLink, { status: 201 });
    },
    { role: "owner" },
  ),
});
