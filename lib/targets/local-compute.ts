// What the rest of the app calls for the embedded `local` target: start it for the
// default workspace (server.ts), and find it to stop or start it (the routes).
// The parts live in lib/targets/local/: server, sandbox, shell, forwarding, sftp,
// volumes and lifecycle.
import type { Db } from "@/db/client";
import type { ComputeTarget, Workspace } from "@/db/schema";
import { and, eq } from "drizzle-orm";
import { computeTargets } from "@/db/schema";
import { config } from "@/lib/config";
import type { Logger } from "@/lib/log";
import { keyLookup } from "./key-lookup";
import { embeddedTargets, serveRemotePowerRequests } from "./power";
import { LocalCompute } from "./local/lifecycle";
import { registerTarget } from "./registry";
import { sshAccessLog } from "./ssh-access-log";

export type { LocalCompute } from "./local/lifecycle";
export const LOCAL_TARGET_NAME = "local";
/** What terminal sessions on the target say when it stops. */
export const COMPUTE_STOPPED_DETAIL = "Compute stopped. Start a new session once the target runs again.";

async function ensureLocalTargetRow(db: Db, workspace: Workspace, host: string): Promise<ComputeTarget> {
  const [existing] = await db
    .select()
    .from(computeTargets)
    .where(and(eq(computeTargets.workspaceId, workspace.id), eq(computeTargets.kind, "local")))
    .limit(1);
  if (existing) return existing;
  return (await registerTarget(db, { workspaceId: workspace.id, name: LOCAL_TARGET_NAME, kind: "local", host })).target;
}

/** Registers (once) and boots the embedded target of `workspace`; shared with route handlers through globalThis. */
export async function startLocalCompute(db: Db, workspace: Workspace, log: Logger): Promise<LocalCompute> {
  const cfg = config();
  const row = await ensureLocalTargetRow(db, workspace, cfg.localTarget.publicHost);
  const compute = new LocalCompute({
    db,
    row,
    log,
    dataDir: cfg.dataDir,
    volumesDir: cfg.volumesDir,
    listenHost: cfg.localTarget.listenHost,
    publicHost: cfg.localTarget.publicHost,
    ports: cfg.localTarget.ports,
    liveWindowMs: cfg.targetLiveWindowMs,
    // The very lookup OpenSSH targets reach over HTTP (and its cache), asked at every login.
    allowedKeys: (user) => keyLookup(db).keysFor(row.id, user),
    // Its terminal sessions end by the target.stopped event (lib/terminal/server/registry.ts), on every instance.
    stopDetail: COMPUTE_STOPPED_DETAIL,
    // Every login attempt on the embedded target goes to the workspace's SSH access audit.
    onLogin: (attempt) => sshAccessLog(db, log).record({ workspaceId: row.workspaceId, targetId: row.id, kind: "login", ...attempt }),
  });
  // Route handlers find it here (lib/targets/power.ts) to stop and start it, as do
  // other instances' requests (they do not run it).
  embeddedTargets.get().set(row.id, compute);
  serveRemotePowerRequests(db, log);
  await compute.start();
  return compute;
}

/**
 * This instance no longer runs the embedded target (it lost the lead, or is stopping):
 * forgotten first, so that neither a route here nor another instance's request reaches
 * it again, then stopped for good.
 */
export async function retireLocalCompute(compute: LocalCompute): Promise<void> {
  if (embeddedTargets.get().get(compute.targetId) === compute) embeddedTargets.get().delete(compute.targetId);
  await compute.retire();
}
