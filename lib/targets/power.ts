// Stop and start for a workspace's compute target, as the routes ask it: only the
// embedded target is driven from here (an OpenSSH target reports its own boots).
import type { Db } from "@/db/client";
import { audit } from "@/lib/audit";
import { ApiError } from "@/lib/http/errors";
import { processGlobal } from "@/lib/global";
import type { LocalCompute } from "./local/lifecycle";
import { findTarget, requireWorkspaceTarget, targetView, type TargetView } from "./registry";

/** The embedded targets this process runs, by target id (started by server.ts; see local-compute.ts). Type-only import: routes need not bundle ssh2 and node-pty. */
export const embeddedTargets = processGlobal("local-computes", () => new Map<string, LocalCompute>());

function localCompute(targetId: string): LocalCompute | undefined {
  return embeddedTargets.get().get(targetId);
}

async function embeddedTarget(db: Db, workspaceId: string, id: string) {
  const target = await requireWorkspaceTarget(db, workspaceId, id);
  if (target.kind !== "local") throw new ApiError("conflict", "Only the embedded target is stopped and started here; an OpenSSH target reports its own boots.");
  const compute = localCompute(target.id);
  if (!compute) throw new ApiError("conflict", "This server does not run that embedded target (MESHIA_LOCAL_TARGET is off, or another instance runs it).");
  return { target, compute };
}

async function view(db: Db, id: string): Promise<TargetView> {
  return targetView((await findTarget(db, id))!);
}

/** Ends every SSH connection and terminal session on the target ("compute stopped"). */
export async function stopTarget(db: Db, workspaceId: string, id: string, actor: string): Promise<TargetView> {
  const { target, compute } = await embeddedTarget(db, workspaceId, id);
  await compute.stop(actor);
  return view(db, target.id);
}

/** Boots it: a new port (unless pinned) and boot id, the same host key and volume. */
export async function startTarget(db: Db, workspaceId: string, id: string, actor: string): Promise<TargetView> {
  const { target, compute } = await embeddedTarget(db, workspaceId, id);
  const was = compute.state;
  const state = await compute.start();
  if (was !== "running" && state === "running") await audit(db, { workspaceId, actor, action: "target.started", detail: { targetId: target.id } });
  return view(db, target.id);
}
