// /api/workspaces/{workspaceId}/targets
//   GET  – the workspace's compute targets and how to reach each.
//   POST – register an OpenSSH target: returns its token (shown once) and what to install on it.
import { withWorkspace } from "@/lib/auth/access";
import { requestOrigin } from "@/lib/http/origin";
import { defineRoute, json, readJson } from "@/lib/http/route";
import { AGENT_UNIT_PATH, agentUnit, installSteps, SSHD_DROP_IN_PATH, sshdConfig, targetConf, TARGET_CONF_PATH, TARGET_SCRIPTS } from "@/lib/targets/install";
import { listTargetViews, registerTarget, targetView } from "@/lib/targets/registry";
import { registerTargetBody } from "@/lib/targets/validate";

const controlPlaneUrl = (req: Request) => requestOrigin(req.headers);

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: withWorkspace(async (_req, { db, workspace }) => json({ targets: (await listTargetViews(db, workspace.id)).targets })),

  POST: withWorkspace(
    async (req, { db, workspace, actor }) => {
      const input = await readJson(req, registerTargetBody);
      // Before anything is stored: no registration whose install steps cannot be handed out.
      const url = controlPlaneUrl(req);
      const { target, token } = await registerTarget(db, {
        workspaceId: workspace.id,
        kind: "openssh",
        name: input.name,
        host: input.host,
        port: input.port ?? null,
        actor,
      });
      return json(
        {
          target: targetView(target),
          token,
          install: {
            [TARGET_CONF_PATH]: targetConf({ controlPlaneUrl: url, targetId: target.id, token: token!, publicPort: input.port ?? 22 }),
            [SSHD_DROP_IN_PATH]: sshdConfig(),
            [AGENT_UNIT_PATH]: agentUnit(),
            scripts: Object.fromEntries(TARGET_SCRIPTS.map((s) => [s, `${url}/target-scripts/${s}`])),
            steps: installSteps(url),
          },
        },
        { status: 201 },
      );
    },
    { role: "owner" },
  ),
});
