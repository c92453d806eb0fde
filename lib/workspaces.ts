// Workspaces: look-up by id, creation, and the default workspace made on first start.
import { asc, eq } from "drizzle-orm";
import type { Db } from "@/db/client";
import { workspaces, type Workspace } from "@/db/schema";
import { audit } from "@/lib/audit";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(id: string): boolean {
  return UUID.test(id);
}

export async function findWorkspace(db: Db, id: string): Promise<Workspace | null> {
  if (!isUuid(id)) return null;
  const [row] = await db.select().from(workspaces).where(eq(workspaces.id, id)).limit(1);
  return row ?? null;
}

export async function listWorkspaces(db: Db): Promise<Workspace[]> {
  return db.select().from(workspaces).orderBy(asc(workspaces.createdAt));
}

/** The oldest workspace, created when none exists yet (first start). */
export async function ensureDefaultWorkspace(db: Db): Promise<Workspace> {
  const [first] = await db.select().from(workspaces).orderBy(asc(workspaces.createdAt)).limit(1);
  if (first) return first;
  const [created] = await db.insert(workspaces).values({ name: "Default workspace" }).returning();
  if (!created) throw new Error("could not create the default workspace");
  return created;
}

export async function createWorkspace(db: Db, input: { name: string; actor?: string | null }): Promise<Workspace> {
  return db.transaction(async (tx) => {
    const [created] = await tx.insert(workspaces).values({ name: input.name }).returning();
    if (!created) throw new Error("workspace insert returned nothing");
    await audit(tx, { workspaceId: created.id, actor: input.actor ?? null, action: "workspace.created", detail: { name: created.name } });
    return created;
  });
}
