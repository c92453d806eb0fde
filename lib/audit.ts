// The audit trail: one row per security-relevant event, never any secret.
import type { Db } from "@/db/client";
import { auditEvents } from "@/db/schema";

export type AuditAction =
  | "workspace.created"
  | "key.generated"
  | "key.regenerated"
  | "key.revoked"
  | "target.registered"
  | "target.boot"
  | "target.host-key-mismatch"
  | "target.stopped"
  | "target.removed";

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
