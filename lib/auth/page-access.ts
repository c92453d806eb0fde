// Access for pages (server components): the signed-in user, and their membership
// of the page's workspace. Not signed in → the sign-in page; not a member → 404.
import { headers } from "next/headers";
import { notFound, redirect } from "next/navigation";
import { connection } from "next/server";
import { appDb, type Db } from "@/db/client";
import { assertDatabaseReachable } from "@/db/outage";
import type { Workspace } from "@/db/schema";
import { workspacesOf, type Role } from "@/lib/workspaces/workspaces";
import { principalFrom, type Principal } from "./principal";

export async function currentUser(): Promise<Principal | null> {
  await connection();
  const principal = await principalFrom(await headers());
  // Nobody signed in, or a database that cannot say: the page shows the outage
  // (app/error.tsx), never a sign-in form that could not work anyway.
  if (!principal) await assertDatabaseReachable(await appDb());
  // Pages are for people signed in with a browser session.
  return principal?.via === "session" ? principal : null;
}

export async function requireUser(next: string): Promise<Principal> {
  const user = await currentUser();
  if (!user) redirect(`/sign-in?next=${encodeURIComponent(next)}`);
  return user;
}

export interface MemberPage {
  db: Db;
  user: Principal;
  workspace: Workspace;
  role: Role;
  workspaces: { id: string; name: string }[];
}

export async function requireMember(workspaceId: string, path = ""): Promise<MemberPage> {
  const user = await requireUser(`/w/${workspaceId}${path}`);
  const db = await appDb();
  // One query: the user's workspaces (for the switcher) include this one, with the role.
  const mine = await workspacesOf(db, user.userId);
  const current = mine.find((w) => w.id === workspaceId);
  if (!current) notFound();
  const { role, ...workspace } = current;
  return { db, user, workspace, role, workspaces: mine.map((w) => ({ id: w.id, name: w.name })) };
}
