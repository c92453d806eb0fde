// Workspaces (better-auth organizations): look-up, membership, creation, and the
// default workspace made on first start.
import { randomBytes } from "node:crypto";
import { and, asc, eq, inArray } from "drizzle-orm";
import type { Db } from "@/db/client";
import { apikey, member, organization as workspaces, user, type Workspace } from "@/db/schema";
import { audit } from "@/lib/audit";
import { publish } from "@/lib/events";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type Role = "owner" | "member";

export function isUuid(id: string): boolean {
  return UUID.test(id);
}

function asRole(role: string): Role {
  return role === "owner" ? "owner" : "member";
}

/** The workspace and the user's role in it, in one query; null when they are not a member (or it does not exist). */
export async function membership(db: Db, workspaceId: string, userId: string): Promise<{ workspace: Workspace; role: Role } | null> {
  if (!isUuid(workspaceId) || !isUuid(userId)) return null;
  const [row] = await db
    .select({ w: workspaces, role: member.role })
    .from(member)
    .innerJoin(workspaces, eq(member.organizationId, workspaces.id))
    .where(and(eq(member.organizationId, workspaceId), eq(member.userId, userId)))
    .limit(1);
  return row ? { workspace: row.w, role: asRole(row.role) } : null;
}

/** The workspaces a user belongs to, with their role in each, oldest first. */
export async function workspacesOf(db: Db, userId: string): Promise<(Workspace & { role: Role })[]> {
  const rows = await db
    .select({ w: workspaces, role: member.role })
    .from(member)
    .innerJoin(workspaces, eq(member.organizationId, workspaces.id))
    .where(eq(member.userId, userId))
    .orderBy(asc(workspaces.createdAt));
  return rows.map((r) => ({ ...r.w, role: asRole(r.role) }));
}

/** The user's role in the workspace, or null when they are not a member. */
export async function roleIn(db: Db, workspaceId: string, userId: string): Promise<Role | null> {
  return (await membership(db, workspaceId, userId))?.role ?? null;
}

function slugFor(name: string): string {
  const base =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "")
      .slice(0, 40) || "workspace";
  return `${base}-${randomBytes(4).toString("hex")}`;
}

/** The oldest workspace, created when none exists yet (first start). */
export async function ensureDefaultWorkspace(db: Db): Promise<Workspace> {
  const [first] = await db.select().from(workspaces).orderBy(asc(workspaces.createdAt)).limit(1);
  if (first) return first;
  return createWorkspace(db, { name: "Default workspace" });
}

/** Creates a workspace; with an owner, that user becomes its first member. */
export async function createWorkspace(db: Db, input: { name: string; ownerId?: string | null; actor?: string | null }): Promise<Workspace> {
  return db.transaction(async (tx) => {
    const [created] = await tx
      .insert(workspaces)
      .values({ name: input.name, slug: slugFor(input.name), createdAt: new Date() })
      .returning();
    if (!created) throw new Error("workspace insert returned nothing");
    if (input.ownerId) await tx.insert(member).values({ organizationId: created.id, userId: input.ownerId, role: "owner", createdAt: new Date() });
    await audit(tx, { workspaceId: created.id, actor: input.actor ?? input.ownerId ?? null, action: "workspace.created", detail: { name: created.name } });
    return created;
  });
}

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

/** The workspace an API token is scoped to (kept in its metadata), or null. */
export function tokenWorkspace(metadata: string | null): string | null {
  try {
    const m = JSON.parse(metadata ?? "null") as { workspaceId?: unknown } | null;
    return typeof m?.workspaceId === "string" ? m.workspaceId : null;
  } catch {
    return null;
  }
}

export class LastOwnerError extends Error {
  constructor() {
    super("A workspace keeps at least one owner.");
  }
}
