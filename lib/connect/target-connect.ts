// Server side of the connect helpers: a workspace's target as the ssh config and
// the connection test see it (its address for this boot, its pinned host keys).
import type { Db } from "@/db/client";
import type { ComputeTarget, Workspace } from "@/db/schema";
import { config } from "@/lib/config";
import { ApiError } from "@/lib/http/errors";
import { volumeDir } from "@/lib/targets/local/volumes";
import { pinnedHostKeys } from "@/lib/targets/host-keys";
import { effectiveStatus, requireWorkspaceTarget } from "@/lib/targets/registry";
import type { ClientOs } from "./commands";
import { sshConfig, type SshConfig } from "./ssh-config";

/** The workspace's target with an address to connect to, or the 404/409 that says why not. */
export async function connectableTarget(db: Db, workspaceId: string, targetId: string): Promise<ComputeTarget & { port: number }> {
  const target = await requireWorkspaceTarget(db, workspaceId, targetId);
  const status = effectiveStatus(target);
  if (status === "unavailable") throw new ApiError("conflict", `${target.name} is unavailable: ${target.unavailableReason ?? "it cannot run shells here"}`);
  if (!target.port) throw new ApiError("conflict", `${target.name} has not booted yet: there is no address to connect to.`);
  return target as ComputeTarget & { port: number };
}

export function targetSshConfig(
  workspace: Workspace,
  target: ComputeTarget & { port: number },
  opts: { os: ClientOs; file: string },
): SshConfig & { host: string; port: number; bootId: string | null } {
  const remoteHome = target.kind === "local" ? volumeDir(config().volumesDir, workspace.id) : undefined;
  const c = sshConfig({
    workspaceName: workspace.name,
    targetId: target.id,
    targetName: target.name,
    host: target.host,
    port: target.port,
    hostKeys: pinnedHostKeys(target),
    os: opts.os,
    file: opts.file,
    remoteHome,
  });
  return { ...c, host: target.host, port: target.port, bootId: target.bootId };
}
