// Members of a workspace: listing, adding, and removing (which revokes the member's
// API tokens there and ends their terminals, on every instance).
import { eq, inArray, asc } from "drizzle-orm";
import type { Db } from "@/db/client";
import { apikey, member, user } from "@/db/schema";
import { audit } from "@/lib/audit";
import { publish } from "@/lib/events";
import { ApiError } from "@/lib/http/errors";
import { isUuid } from "@/lib/util/uuid";
import { tokenWorkspace } from "./tokens";
import { asRole, type Role } from "./workspaces";

export async function addMember(db: Db, workspaceId: string, userId: string, role: Role): Promise<void> {
  await db.insert(member).values({ organizationId: workspaceId, userId, role, createdAt: new Date() });
}

export interface MemberView {
  userId: string;
  name: string;
  email: string;
  role: Role;
  joinedAt: string;
}

export async function listMembers(db: Db, workspaceId: string): Promise<MemberView[]> {
  const rows = await db
    .select({ userId: user.id, name: user.name, email: user.email, role: member.role, joinedAt: member.createdAt })
    .from(member)
    .innerJoin(user, eq(member.userId, user.id))
    .where(eq(member.organizationId, workspaceId))
    .orderBy(asc(member.createdAt));
  return rows.map((r) => ({ ...r, role: asRole(r.role), joinedAt: r.joinedAt.toISOString() }));
}

/**
 * Removes a member and revokes their API tokens for this workspace (a token must
 * not come back to life if they are invited again); the last owner cannot be
 * removed. Returns false when they were not a member.
 */
export async function removeMember(db: Db, workspaceId: string, userId: string, actor: string): Promise<boolean> {
  if (!isUuid(userId)) return false;
  const removed = await db.transaction(async (tx) => {
    const members = await tx.select().from(member).where(eq(member.organizationId, workspaceId)).for("update");
    const target = members.find((m) => m.userId === userId);
    if (!target) return false;
    if (target.role === "owner" && members.filter((m) => m.role === "owner").length === 1) {
      throw new LastOwnerError();
    }
    await tx.delete(member).where(eq(member.id, target.id));
    const tokens = (await tx.select({ id: apikey.id, name: apikey.name, metadata: apikey.metadata }).from(apikey).where(eq(apikey.referenceId, userId))).filter(
      (t) => tokenWorkspace(t.metadata) === workspaceId,
    );
    if (tokens.length)
      await tx.delete(apikey).where(
        inArray(
          apikey.id,
          tokens.map((t) => t.id),
        ),
      );
    await audit(tx, { workspaceId, actor, action: "member.removed", detail: { userId, tokensRevoked: tokens.length } });
    for (const t of tokens) await audit(tx, { workspaceId, actor, action: "token.revoked", detail: { tokenId: t.id, name: t.name, reason: "member removed" } });
    return { tokenIds: tokens.map((t) => t.id) };
  });
  if (!removed) return false;
  // Committed: their terminals in this workspace end, on every instance.
  await publish(db, { type: "member.removed", workspaceId, userId });
  if (removed.tokenIds.length) await publish(db, { type: "token.revoked", workspaceId, tokenIds: removed.tokenIds });
  return true;
}

/** Removing the last owner is refused (409): someone must be able to manage the workspace. */
export class LastOwnerError extends ApiError {
  static override readonly brand: string = "LastOwnerError";
  constructor() {
    super("conflict", "A workspace keeps at least one owner.");
  }
}
