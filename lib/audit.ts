// The audit trail: one row per security-relevant event, never any secret.
import { and, desc, eq, inArray, isNull, or, sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { auditEvents, computeTargets, member, sshAccess, terminalSessions, user, workspaceKeys } from "@/db/schema";

export type AuditAction =
  | "auth.setup"
  | "auth.signed-in"
  | "workspace.created"
  | "member.invited"
  | "member.joined"
  | "member.removed"
  | "invitation.cancelled"
  | "token.created"
  | "token.revoked"
  | "key.generated"
  | "key.regenerated"
  | "key.revoked"
  | "target.registered"
  | "target.boot"
  | "target.host-key-mismatch"
  | "target.stopped"
  | "target.started"
  | "target.unavailable"
  | "target.removed"
  | "target.bridge-rotated"
  | "terminal.connect-failed";

type Executor = Pick<Db, "insert">;

export async function audit(
  db: Executor,
  event: { workspaceId: string | null; action: AuditAction; actor?: string | null; detail?: Record<string, unknown> },
): Promise<void> {
  await db.insert(auditEvents).values({
    workspaceId: event.workspaceId,
    action: event.action,
    actor: event.actor ?? null,
    detail: event.detail ?? {},
  });
}

export interface AuditEntry {
  at: string;
  action: string;
  actor: string | null;
  actorEmail: string | null;
  detail: Record<string, unknown>;
}

export interface SessionEntry {
  id: string;
  user: string | null;
  target: string | null;
  openedAt: string;
  closedAt: string | null;
  durationSeconds: number | null;
  exitCode: number | null;
  exitSignal: string | null;
  closeReason: string | null;
  bytesIn: number;
  bytesOut: number;
}

export interface SshAccessEntry {
  at: string;
  target: string | null;
  kind: "login" | "key-lookup";
  source: string | null;
  user: string;
  fingerprint: string | null;
  /** Which workspace key the fingerprint is, when it is one: "current", "revoked", or null. */
  keyState: "current" | "revoked" | null;
  result: string;
  /** Further events of the same kind folded into this one (floods are summarised). */
  more: number;
}

/**
 * A workspace's audit trail, newest first: its own events, the sign-ins of its
 * members, its terminal sessions, and SSH access from people's own terminals.
 */
export async function workspaceAudit(
  db: Db,
  workspaceId: string,
  limit = 200,
): Promise<{ events: AuditEntry[]; sessions: SessionEntry[]; access: SshAccessEntry[] }> {
  const memberIds = db.select({ id: member.userId }).from(member).where(eq(member.organizationId, workspaceId));
  const events = await db
    .select({ e: auditEvents, email: user.email })
    .from(auditEvents)
    .leftJoin(user, eq(sql`${auditEvents.actor}`, sql`${user.id}::text`))
    .where(
      or(
        eq(auditEvents.workspaceId, workspaceId),
        and(isNull(auditEvents.workspaceId), eq(auditEvents.action, "auth.signed-in"), inArray(sql`${auditEvents.actor}::uuid`, memberIds)),
      ),
    )
    .orderBy(desc(auditEvents.at))
    .limit(limit);
  const sessions = await db
    .select({ s: terminalSessions, email: user.email, target: computeTargets.name })
    .from(terminalSessions)
    .leftJoin(user, eq(sql`${terminalSessions.openedBy}`, sql`${user.id}::text`))
    .leftJoin(computeTargets, eq(terminalSessions.targetId, computeTargets.id))
    .where(eq(terminalSessions.workspaceId, workspaceId))
    .orderBy(desc(terminalSessions.openedAt))
    .limit(limit);
  const access = await db
    .select({ a: sshAccess, target: computeTargets.name })
    .from(sshAccess)
    .leftJoin(computeTargets, eq(sshAccess.targetId, computeTargets.id))
    .where(eq(sshAccess.workspaceId, workspaceId))
    .orderBy(desc(sshAccess.at))
    .limit(limit);
  const keys = await db
    .select({ fingerprint: workspaceKeys.fingerprint, revokedAt: workspaceKeys.revokedAt })
    .from(workspaceKeys)
    .where(eq(workspaceKeys.workspaceId, workspaceId));
  const keyState = (fp: string | null) => {
    const k = fp ? keys.find((x) => x.fingerprint === fp) : undefined;
    return k ? (k.revokedAt ? "revoked" : "current") : null;
  };
  return {
    access: access.map(({ a, target }) => ({
      at: a.at.toISOString(),
      target,
      kind: a.kind,
      source: a.source,
      user: a.user,
      fingerprint: a.fingerprint,
      keyState: keyState(a.fingerprint),
      result: a.result,
      more: a.more,
    })),
    events: events.map(({ e, email }) => ({ at: e.at.toISOString(), action: e.action, actor: e.actor, actorEmail: email, detail: e.detail })),
    sessions: sessions.map(({ s, email, target }) => ({
      id: s.id,
      user: email,
      target,
      openedAt: s.openedAt.toISOString(),
      closedAt: s.closedAt?.toISOString() ?? null,
      durationSeconds: s.closedAt ? Math.round((s.closedAt.getTime() - s.openedAt.getTime()) / 1000) : null,
      exitCode: s.exitCode,
      exitSignal: s.exitSignal,
      closeReason: s.closeReason,
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
    })),
  };
}
