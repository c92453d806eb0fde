// GET /api/workspaces/{workspaceId}/members – who is in the workspace, with their roles.
import { withWorkspace } from "@/lib/auth/access";
import type { MembersResponse } from "@/lib/http/contract";
import { defineRoute, json } from "@/lib/http/route";
import { listMembers } from "@/lib/workspaces/members";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: withWorkspace(async (_req, { db, workspace }) => json({ members: await listMembers(db, workspace.id) } satisfies MembersResponse)),
});
