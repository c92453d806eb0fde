// Compute targets: what is registered, which boot is current, which host keys are
// pinned, and whether the target counts as live compute right now.
import { and, asc, eq, sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { computeTargets, type ComputeTarget, type TargetKind } from "@/db/schema";
import { audit } from "@/lib/audit";
import { config } from "@/lib/config";
import { publish } from "@/lib/events";
import { ApiError } from "@/lib/http/errors";
import { fingerprintOf } from "@/lib/keys/fingerprint";
import { logger } from "@/lib/log";
import { isUuid } from "@/lib/util/uuid";
import { hostKeyTypeOf, normaliseHostKeys } from "./host-keys";
import { checkTargetHost } from "./network-policy";
import { SSH_USER, sshCommand } from "./ssh-command";
import { newTargetToken } from "./target-token";

export type TargetStatus = "pending" | "live" | "stopped" | "unavailable";

export interface TargetView {
  id: string;
  name: string;
  kind: TargetKind;
  host: string;
  port: number | null;
  user: string;
  status: TargetStatus;
  bootId: string | null;
  bootedAt: string | null;
  lastSeenAt: string | null;
  hostKeyFingerprint: string | null;
  /** The pinned host key's type as ssh prints it ("ED25519 key fingerprint is …"). */
  hostKeyType: string | null;
  sshCommand: string | null;
  /** Why the target cannot run shells, and what fixes it (status "unavailable" only). */
  unavailable: { reason: string; fix: string } | null;
}

/** Live compute: booted, not stopped, and heard from within the live window (MESHIA_TARGET_LIVE_WINDOW unless given). */
export function effectiveStatus(t: ComputeTarget, liveWindowMs = config().targetLiveWindowMs, now = Date.now()): TargetStatus {
  if (t.status !== "live") return t.status;
  if (!t.lastSeenAt || now - t.lastSeenAt.getTime() > liveWindowMs) return "stopped";
  return "live";
}

/** The command for this target, or null when there is none to show (no port yet, or a stored host the ssh command refuses). */
function commandFor(t: ComputeTarget): string | null {
  if (!t.port) return null;
  try {
    return sshCommand(t.host, t.port);
  } catch {
    // One bad row must not take down every listing of its workspace.
    return null;
  }
}

export function targetView(t: ComputeTarget, liveWindowMs = config().targetLiveWindowMs, now = Date.now()): TargetView {
  const status = effectiveStatus(t, liveWindowMs, now);
  return {
    id: t.id,
    name: t.name,
    kind: t.kind,
    host: t.host,
    port: t.port,
    user: SSH_USER,
    status,
    bootId: t.bootId,
    bootedAt: t.bootedAt?.toISOString() ?? null,
    lastSeenAt: t.lastSeenAt?.toISOString() ?? null,
    hostKeyFingerprint: t.hostKeyFingerprint,
    hostKeyType: hostKeyTypeOf(t),
    sshCommand: status === "unavailable" ? null : commandFor(t),
    unavailable: status === "unavailable" ? { reason: t.unavailableReason ?? "", fix: t.unavailableFix ?? "" } : null,
  };
}

export async function listTargets(db: Db, workspaceId: string): Promise<ComputeTarget[]> {
  return db.select().from(computeTargets).where(eq(computeTargets.workspaceId, workspaceId)).orderBy(asc(computeTargets.createdAt));
}

export async function findTarget(db: Db, id: string): Promise<ComputeTarget | null> {
  if (!isUuid(id)) return null;
  const [row] = await db.select().from(computeTargets).where(eq(computeTargets.id, id)).limit(1);
  return row ?? null;
}

export async function findWorkspaceTarget(db: Db, workspaceId: string, id: string): Promise<ComputeTarget | null> {
  if (!isUuid(id)) return null;
  const [row] = await db
    .select()
    .from(computeTargets)
    .where(and(eq(computeTargets.workspaceId, workspaceId), eq(computeTargets.id, id)))
    .limit(1);
  return row ?? null;
}

/** The workspace's target, or the 404 that a target of another workspace gets too. */
export async function requireWorkspaceTarget(db: Db, workspaceId: string, id: string): Promise<ComputeTarget> {
  const target = await findWorkspaceTarget(db, workspaceId, id);
  if (!target) throw new ApiError("not_found", "No such compute target in this workspace.");
  return target;
}

/** Every target of the workspace as people see it, oldest first, judged live at one instant (`at`, ms since the epoch). */
export async function listTargetViews(db: Db, workspaceId: string): Promise<{ targets: TargetView[]; at: number }> {
  const rows = await listTargets(db, workspaceId);
  const at = Date.now();
  return { targets: rows.map((t) => targetView(t, undefined, at)), at };
}

// ---- registration and boots -----------------------------------------------------

export async function registerTarget(
  db: Db,
  input: { workspaceId: string; name: string; kind: TargetKind; host: string; port?: number | null; actor?: string | null },
): Promise<{ target: ComputeTarget; token: string | null }> {
  // Throws TargetAddressRefused for a host targets may not be at (lib/targets/network-policy.ts).
  if (input.kind === "openssh") await checkTargetHost(input.host);
  const tok = input.kind === "openssh" ? newTargetToken() : null;
  return db.transaction(async (tx) => {
    const [target] = await tx
      .insert(computeTargets)
      .values({
        workspaceId: input.workspaceId,
        name: input.name,
        kind: input.kind,
        host: input.host,
        port: input.port ?? null,
        tokenHash: tok?.hash ?? null,
      })
      .returning();
    if (!target) throw new Error("target insert returned nothing");
    await audit(tx, {
      workspaceId: input.workspaceId,
      actor: input.actor ?? null,
      action: "target.registered",
      detail: { targetId: target.id, name: target.name, kind: target.kind, host: target.host },
    });
    return { target, token: tok?.token ?? null };
  });
}

/** The same boot reported other host keys: refused (409), the pinned keys stay. */
export class HostKeyChangedError extends ApiError {
  static override readonly brand: string = "HostKeyChangedError";
  constructor(readonly targetId: string) {
    super("conflict", "the target reported different host keys within the same boot", { reason: "host_key_changed" });
  }
}

/**
 * Records a boot (or a repeated report of the current boot, which serves as a
 * heartbeat). A new boot re-pins the host keys; the same boot with other host keys
 * is refused and audited: that is what a man in the middle would look like.
 */
export async function recordBoot(
  db: Db,
  target: ComputeTarget,
  boot: { bootId: string; port: number; hostKeys: string[]; host?: string },
): Promise<ComputeTarget> {
  const hostKeys = normaliseHostKeys(boot.hostKeys);
  const now = new Date();
  if (target.bootId === boot.bootId && target.status !== "stopped") {
    if (target.hostKeys !== hostKeys.join("\n")) {
      await audit(db, {
        workspaceId: target.workspaceId,
        action: "target.host-key-mismatch",
        detail: { targetId: target.id, bootId: boot.bootId, pinned: target.hostKeyFingerprint, reported: fingerprintOf(hostKeys[0]!) },
      });
      logger().error({ target: target.id, bootId: boot.bootId }, "HOST KEY CHANGED WITHIN A BOOT: refusing the report; the pinned key stays");
      throw new HostKeyChangedError(target.id);
    }
    const [row] = await db
      .update(computeTargets)
      .set({ lastSeenAt: now, port: boot.port, status: "live", ...(boot.host ? { host: boot.host } : {}) })
      .where(eq(computeTargets.id, target.id))
      .returning();
    await publish(db, { type: "target.changed", targetId: target.id, workspaceId: target.workspaceId });
    return row!;
  }
  const [row] = await db
    .update(computeTargets)
    .set({
      bootId: boot.bootId,
      bootedAt: now,
      lastSeenAt: now,
      port: boot.port,
      status: "live",
      unavailableReason: null,
      unavailableFix: null,
      hostKeys: hostKeys.join("\n"),
      hostKeyFingerprint: fingerprintOf(hostKeys[0]!),
      ...(boot.host ? { host: boot.host } : {}),
    })
    .where(eq(computeTargets.id, target.id))
    .returning();
  await audit(db, {
    workspaceId: target.workspaceId,
    action: "target.boot",
    detail: { targetId: target.id, bootId: boot.bootId, port: boot.port, hostKeyFingerprint: row!.hostKeyFingerprint },
  });
  await publish(db, { type: "target.changed", targetId: target.id, workspaceId: target.workspaceId });
  return row!;
}

export async function heartbeat(db: Db, targetId: string): Promise<void> {
  await db.update(computeTargets).set({ lastSeenAt: new Date() }).where(eq(computeTargets.id, targetId));
}

/** The target stopped: not live from now on, and its terminal sessions end (on every instance), saying `detail`. */
export async function markStopped(db: Db, target: ComputeTarget, actor: string | null = null, detail?: string): Promise<void> {
  await db.update(computeTargets).set({ status: "stopped" }).where(eq(computeTargets.id, target.id));
  await audit(db, { workspaceId: target.workspaceId, actor, action: "target.stopped", detail: { targetId: target.id, bootId: target.bootId } });
  await publish(db, { type: "target.stopped", targetId: target.id, workspaceId: target.workspaceId, ...(detail ? { detail } : {}) });
}

/** The target cannot run shells safely here: no port, no command, and why with the fix. */
export async function markUnavailable(db: Db, target: ComputeTarget, why: { reason: string; fix: string }): Promise<void> {
  await db
    .update(computeTargets)
    .set({ status: "unavailable", port: null, unavailableReason: why.reason, unavailableFix: why.fix })
    .where(eq(computeTargets.id, target.id));
  if (target.status !== "unavailable" || target.unavailableReason !== why.reason) {
    await audit(db, { workspaceId: target.workspaceId, action: "target.unavailable", detail: { targetId: target.id, reason: why.reason } });
  }
  await publish(db, { type: "target.changed", targetId: target.id, workspaceId: target.workspaceId });
}

/**
 * Rotates the target's bridge credential: the next generation's key is the only one
 * its authorized-keys answer carries from now on, so the old one stops working at
 * the target's next login. (Changing MESHIA_BRIDGE_SECRET rotates every target's.)
 */
export async function rotateBridgeCredential(db: Db, target: ComputeTarget, actor: string | null): Promise<ComputeTarget> {
  const rotated = await db.transaction(async (tx) => {
    const [row] = await tx
      .update(computeTargets)
      .set({ bridgeGeneration: sql`${computeTargets.bridgeGeneration} + 1` })
      .where(eq(computeTargets.id, target.id))
      .returning();
    if (!row) throw new Error("target vanished during rotation");
    await audit(tx, {
      workspaceId: target.workspaceId,
      actor,
      action: "target.bridge-rotated",
      detail: { targetId: target.id, generation: row.bridgeGeneration },
    });
    return row;
  });
  await publish(db, { type: "target.bridge-rotated", targetId: target.id, workspaceId: target.workspaceId });
  return rotated;
}

/** Unregisters a target: its token stops working at once. Audited like its registration. */
export async function removeTarget(db: Db, target: ComputeTarget, actor: string | null): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.delete(computeTargets).where(eq(computeTargets.id, target.id));
    await audit(tx, {
      workspaceId: target.workspaceId,
      actor,
      action: "target.removed",
      detail: { targetId: target.id, name: target.name, kind: target.kind, host: target.host },
    });
  });
  await publish(db, { type: "target.removed", targetId: target.id, workspaceId: target.workspaceId });
}
