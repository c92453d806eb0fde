// /api/workspaces/{workspaceId}/targets
//   GET  – the workspace's compute targets and how to reach each.
//   POST – register an OpenSSH target: returns its token (shown once) and what to install on it.
import { withWorkspace } from "@/lib/auth/access";
import type { Registration, TargetsResponse } from "@/lib/http/contract";
import { requestOrigin } from "@/lib/http/origin";
import { defineRoute, json, readJson } from "@/lib/http/route";
import { installBundle } from "@/lib/targets/install";
import { listTargetViews, registerTarget, targetView } from "@/lib/targets/registry";
import { registerTargetBody } from "@/lib/targets/validate";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: withWorkspace(async (_req, { db, workspace }) => json({ targets: (await listTargetViews(db, workspace.id)).targets } satisfies TargetsResponse)),

  POST: withWorkspace(
    async (req, { db, workspace, actor }) => {
      const input = await readJson(req, registerTargetBody);
      // Before anything is stored: no registration whose install steps cannot be handed out.
      const controlPlaneUrl = requestOrigin(req.headers);
      const { target, token } = await registerTarget(db, { workspaceId: workspace.id, kind: "openssh", ...input, port: input.port ?? null, actor });
      const install = installBundle({ controlPlaneUrl, targetId: target.id, token: token!, publicPort: input.port ?? 22 });
      return json({ target: targetView(target), token: token!, install } satisfies Registration, { status: 201 });
    },
    { role: "owner" },
  ),
});
