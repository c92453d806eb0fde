// Runs the embedded `local` target for a workspace: registers it, starts the SSH
// server, reports its boot like any target would, and keeps it live with heartbeats.
import path from "node:path";
import type { Db } from "@/db/client";
import type { ComputeTarget, Workspace } from "@/db/schema";
import { and, eq } from "drizzle-orm";
import { computeTargets } from "@/db/schema";
import { config } from "@/lib/config";
import { loadOrCreateKeyFile } from "@/lib/keys/key-file";
import type { Logger } from "@/lib/log";
import { keyLookup } from "./key-lookup";
import { LocalTarget } from "./local-target";
import { findTarget, heartbeat, markStopped, recordBoot, registerTarget } from "./registry";

export interface LocalCompute {
  target: LocalTarget;
  targetId: string;
  workspaceId: string;
  stop(): Promise<void>;
}

export const LOCAL_TARGET_NAME = "local";

async function ensureLocalTargetRow(db: Db, workspace: Workspace, host: string): Promise<ComputeTarget> {
  const [existing] = await db
    .select()
    .from(computeTargets)
    .where(and(eq(computeTargets.workspaceId, workspace.id), eq(computeTargets.kind, "local")))
    .limit(1);
  if (existing) return existing;
  return (await registerTarget(db, { workspaceId: workspace.id, name: LOCAL_TARGET_NAME, kind: "local", host })).target;
}

export function volumeDir(dataDir: string, workspaceId: string): string {
  return path.join(dataDir, "workspaces", workspaceId, "volume");
}

export async function startLocalCompute(db: Db, workspace: Workspace, log: Logger): Promise<LocalCompute> {
  const cfg = config();
  const row = await ensureLocalTargetRow(db, workspace, cfg.localTarget.publicHost);
  const hostKey = loadOrCreateKeyFile(path.join(cfg.dataDir, "keys", "local_host_ed25519"), "meshia-local-host");
  const target = new LocalTarget({
    listenHost: cfg.localTarget.listenHost,
    ports: cfg.localTarget.ports,
    hostKey,
    volume: volumeDir(cfg.dataDir, workspace.id),
    log: log.child({ target: row.id }),
    // The very lookup OpenSSH targets reach over HTTP, asked at every login.
    allowedKeys: (user) => keyLookup(db, cfg.targetLiveWindowMs).keysFor(row.id, user),
  });
  const boot = await target.start();
  await recordBoot(db, row, { bootId: boot.bootId, port: boot.port, hostKeys: [hostKey.publicKey], host: cfg.localTarget.publicHost });
  const beat = setInterval(
    () => heartbeat(db, row.id).catch((err: unknown) => log.warn({ err }, "local target heartbeat failed")),
    Math.max(1000, Math.min(30_000, cfg.targetLiveWindowMs / 3)),
  );
  beat.unref();
  const compute: LocalCompute = {
    target,
    targetId: row.id,
    workspaceId: workspace.id,
    async stop() {
      clearInterval(beat);
      await target.stop();
      const latest = await findTarget(db, row.id);
      if (latest) await markStopped(db, latest);
    },
  };
  return compute;
}
