// /api/workspaces/{workspaceId}/targets
//   GET  – the workspace's compute targets and how to reach each.
//   POST – register an OpenSSH target: returns its token (shown once) and what to install on it.
import { withWorkspace } from "@/lib/auth/access";
import { config } from "@/lib/config";
import { requestOrigin } from "@/lib/http/origin";
import { defineRoute, json, readJson } from "@/lib/http/route";
import { AGENT_UNIT_PATH, agentUnit, installSteps, SSHD_DROP_IN_PATH, sshdConfig, targetConf, TARGET_CONF_PATH, TARGET_SCRIPTS } from "@/lib/targets/install";
import { ApiError } from "@/lib/http/errors";
import { TargetAddressRefused } from "@/lib/targets/network-policy";
import { listTargets, registerTarget, targetView } from "@/lib/targets/registry";
import { registerTargetBody } from "@/lib/targets/validate";

const controlPlaneUrl = (req: Request) => requestOrigin(req.headers);

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: withWorkspace(async (_req, { db, workspace }) => {
    const window = config().targetLiveWindowMs;
    const now = Date.now();
    const rows = await listTargets(db, workspace.id);
    return json({ targets: rows.map((t) => targetView(t, window, now)) });
  }),

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
      }).catch((err: unknown) => {
        if (err instanceof TargetAddressRefused)
          throw new ApiError("invalid_field", `host: ${err.reason}`, { fields: [{ field: "host", message: err.reason }] });
        throw err;
      });
      return json(
        {
          target: targetView(target, config().targetLiveWindowMs),
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
