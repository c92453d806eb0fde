// The workspace key as stored: the public half, its fingerprint and when it was saved.
import "@/lib/server-only";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { organization as workspaces, workspaceKeys, type WorkspaceKey } from "@/db/schema";
import { audit } from "@/lib/audit";
import { publish } from "@/lib/events";
import type { GeneratedKey } from "./workspace-key";

export interface KeyView {
  publicKey: string;
  fingerprint: string;
  algorithm: string;
  savedAt: string;
}

export function keyView(row: WorkspaceKey): KeyView {
  return { publicKey: row.publicKey, fingerprint: row.fingerprint, algorithm: row.algorithm, savedAt: row.savedAt.toISOString() };
}

export async function currentKey(db: Db, workspaceId: string): Promise<WorkspaceKey | null> {
  const [row] = await db
    .select()
    .from(workspaceKeys)
    .where(and(eq(workspaceKeys.workspaceId, workspaceId), isNull(workspaceKeys.revokedAt)))
    .limit(1);
  return row ?? null;
}

/**
 * Makes `key` the workspace's one current key, in one transaction: the previous key
 * becomes a revoked row. Concurrent saves for one workspace are serialised on the
 * workspace row, so the last save to commit is the current key.
 */
export async function saveKey(db: Db, workspaceId: string, key: Omit<GeneratedKey, "pem">, actor: string | null): Promise<WorkspaceKey> {
  const saved = await db.transaction(async (tx) => {
    await tx.execute(sql`SELECT 1 FROM ${workspaces} WHERE ${workspaces.id} = ${workspaceId} FOR UPDATE`);
    const now = new Date();
    const revoked = await tx
      .update(workspaceKeys)
      .set({ revokedAt: now, revokedBy: actor })
      .where(and(eq(workspaceKeys.workspaceId, workspaceId), isNull(workspaceKeys.revokedAt)))
      .returning({ fingerprint: workspaceKeys.fingerprint });
    const [row] = await tx
      .insert(workspaceKeys)
      .values({ workspaceId, publicKey: key.publicKey, fingerprint: key.fingerprint, algorithm: key.algorithm, savedAt: now, savedBy: actor })
      .returning();
    if (!row) throw new Error("key insert returned nothing");
    await audit(tx, {
      workspaceId,
      actor,
      action: revoked.length ? "key.regenerated" : "key.generated",
      detail: { fingerprint: key.fingerprint, algorithm: key.algorithm, ...(revoked[0] ? { replaced: revoked[0].fingerprint } : {}) },
    });
    return row;
  });
  // Committed, and before the response: the old key is refused at the very next login.
  await publish(db, { type: "workspace-key.changed", workspaceId });
  return saved;
}

/** Revokes the current key; returns the revoked row, or null when there was none. */
export async function revokeKey(db: Db, workspaceId: string, actor: string | null): Promise<WorkspaceKey | null> {
  const revoked = await db.transaction(async (tx) => {
    await tx.execute(sql`SELECT 1 FROM ${workspaces} WHERE ${workspaces.id} = ${workspaceId} FOR UPDATE`);
    const [row] = await tx
      .update(workspaceKeys)
      .set({ revokedAt: new Date(), revokedBy: actor })
      .where(and(eq(workspaceKeys.workspaceId, workspaceId), isNull(workspaceKeys.revokedAt)))
      .returning();
    if (row) await audit(tx, { workspaceId, actor, action: "key.revoked", detail: { fingerprint: row.fingerprint } });
    return row ?? null;
  });
  if (revoked) await publish(db, { type: "workspace-key.changed", workspaceId });
  return revoked;
}
