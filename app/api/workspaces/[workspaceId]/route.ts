// GET /api/workspaces/{workspaceId} – one workspace.
import { withWorkspace } from "@/lib/auth/access";
import { defineRoute, json } from "@/lib/http/route";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: withWorkspace(async (_req, { workspace }) => json({ id: workspace.id, name: workspace.name, createdAt: workspace.createdAt.toISOString() })),
});
