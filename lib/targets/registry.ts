// Compute targets: what is registered, which boot is current, which host keys are
// pinned, and whether the target counts as live compute right now.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { and, asc, eq, sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { computeTargets, type ComputeTarget, type TargetKind } from "@/db/schema";
import { audit } from "@/lib/audit";
import { publish } from "@/lib/events";
import { fingerprintOf, keyIdentity, keyTypeLabel, parsePublicKeyLine } from "@/lib/keys/fingerprint";
import { checkTargetHost } from "./network-policy";
import { SSH_USER, sshCommand } from "./ssh-command";

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

/** Live compute: booted, not stopped, and heard from within the live window. */
export function effectiveStatus(t: ComputeTarget, liveWindowMs: number, now = Date.now()): TargetStatus {
  if (t.status !== "live") return t.status;
  if (!t.lastSeenAt || now - t.lastSeenAt.getTime() > liveWindowMs) return "stopped";
  return "live";
}

/** The command for this target, or null when there is none to show (no port yet, or a host stored before validation was tightened). */
function commandFor(t: ComputeTarget): string | null {
  if (!t.port) return null;
  try {
    return sshCommand(t.host, t.port);
  } catch {
    // One bad row must not take down every listing of its workspace.
    return null;
  }
}

function hostKeyTypeOf(t: ComputeTarget): string | null {
  const first = pinnedHostKeys(t)[0];
  const parsed = first ? parsePublicKeyLine(first) : null;
  return parsed ? keyTypeLabel(parsed.type) : null;
}

export function targetView(t: ComputeTarget, liveWindowMs: number, now = Date.now()): TargetView {
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
  const [row] = await db.select().from(computeTargets).where(eq(computeTargets.id, id)).limit(1);
  return row ?? null;
}

export async function findWorkspaceTarget(db: Db, workspaceId: string, id: string): Promise<ComputeTarget | null> {
  const [row] = await db
    .select()
    .from(computeTargets)
    .where(and(eq(computeTargets.workspaceId, workspaceId), eq(computeTargets.id, id)))
    .limit(1);
  return row ?? null;
}

// ---- tokens -------------------------------------------------------------------

const TOKEN_PREFIX = "mtt_";

export function newTargetToken(): { token: string; hash: string } {
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function tokenMatches(t: ComputeTarget, token: string | null): boolean {
  if (!token || !t.tokenHash) return false;
  const a = Buffer.from(hashToken(token), "hex");
  const b = Buffer.from(t.tokenHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
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

const HOST_KEY_ORDER = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"];

/** Normalises reported host keys: identities only (no comments), sorted, de-duplicated. */
export function normaliseHostKeys(lines: string[]): string[] {
  const ids = new Set<string>();
  for (const line of lines) {
    const id = keyIdentity(line);
    if (!id) throw new Error("not an OpenSSH public-key line");
    ids.add(id);
  }
  const rank = (l: string) => {
    const i = HOST_KEY_ORDER.indexOf(l.split(" ")[0] ?? "");
    return i < 0 ? HOST_KEY_ORDER.length : i;
  };
  return [...ids].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export function pinnedHostKeys(t: ComputeTarget): string[] {
  return t.hostKeys ? t.hostKeys.split("\n").filter(Boolean) : [];
}

/** True when `blob` (a host key as the SSH client received it) is one of the pinned keys. */
export function hostKeyIsPinned(t: ComputeTarget, blob: Buffer): boolean {
  return pinnedHostKeys(t).some((line) => parsePublicKeyLine(line)?.blob.equals(blob) ?? false);
}

export class HostKeyChangedError extends Error {
  constructor(readonly targetId: string) {
    super("the target reported different host keys within the same boot");
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
