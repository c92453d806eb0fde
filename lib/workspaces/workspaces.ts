// Workspaces (better-auth organizations): look-up, a user's role in each, creation,
// and the default workspace made on first start.
import { randomBytes } from "node:crypto";
import { and, asc, eq } from "drizzle-orm";
import type { Db } from "@/db/client";
import { member, organization as workspaces, type Workspace } from "@/db/schema";
import { audit } from "@/lib/audit";
import { isUuid } from "@/lib/util/uuid";

export type Role = "owner" | "member";

export function asRole(role: string): Role {
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
