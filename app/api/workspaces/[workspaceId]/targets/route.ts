// GET /api/workspaces/{workspaceId}/targets – the workspace's compute targets and how to reach each.
import { withWorkspace } from "@/lib/auth/access";
import { config } from "@/lib/config";
import { defineRoute, json } from "@/lib/http/route";
import { listTargets, targetView } from "@/lib/targets/registry";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: withWorkspace(async (_req, { db, workspace }) => {
    const window = config().targetLiveWindowMs;
    const now = Date.now();
    const rows = await listTargets(db, workspace.id);
    return json({ targets: rows.map((t) => targetView(t, window, now)) });
  }),
});
