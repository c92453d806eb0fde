// Invitations: the only way in besides the first-start setup link. An owner invites
// an email with a role; the link lets that person join (creating their account if
// they have none). Rows live in better-auth's invitation table.
import { and, desc, eq, gt } from "drizzle-orm";
import type { Db } from "@/db/client";
import { invitation, member, organization, user, type Workspace } from "@/db/schema";
import { audit } from "@/lib/audit";
import { ApiError } from "@/lib/http/errors";
import { isUuid } from "@/lib/util/uuid";
import { roleIn, type Role } from "./workspaces";

const INVITATION_TTL_MS = 7 * 24 * 3600 * 1000;

export interface InvitationView {
  id: string;
  email: string;
  role: Role;
  status: string;
  expiresAt: string;
  createdAt: string;
}

function view(row: typeof invitation.$inferSelect): InvitationView {
  return {
    id: row.id,
    email: row.email,
    role: row.role === "owner" ? "owner" : "member",
    status: row.status,
    expiresAt: row.expiresAt.toISOString(),
    createdAt: row.createdAt.toISOString(),
  };
}

export async function invite(db: Db, workspace: Workspace, input: { email: string; role: Role; inviterId: string }): Promise<InvitationView> {
  const email = input.email.toLowerCase();
  const [existingUser] = await db.select({ id: user.id }).from(user).where(eq(user.email, email)).limit(1);
  if (existingUser && (await roleIn(db, workspace.id, existingUser.id))) {
    throw new ApiError("conflict", `${email} is already a member of this workspace.`);
  }
  return db.transaction(async (tx) => {
    // A new invitation replaces any pending one for the same email.
    await tx
      .update(invitation)
      .set({ status: "canceled" })
      .where(and(eq(invitation.organizationId, workspace.id), eq(invitation.email, email), eq(invitation.status, "pending")));
    const [row] = await tx
      .insert(invitation)
      .values({
        organizationId: workspace.id,
        email,
        role: input.role,
        status: "pending",
        inviterId: input.inviterId,
        expiresAt: new Date(Date.now() + INVITATION_TTL_MS),
      })
      .returning();
    await audit(tx, { workspaceId: workspace.id, actor: input.inviterId, action: "member.invited", detail: { email, role: input.role } });
    return view(row!);
  });
}

export async function listInvitations(db: Db, workspaceId: string): Promise<InvitationView[]> {
  const rows = await db
    .select()
    .from(invitation)
    .where(and(eq(invitation.organizationId, workspaceId), eq(invitation.status, "pending"), gt(invitation.expiresAt, new Date())))
    .orderBy(desc(invitation.createdAt));
  return rows.map(view);
}

export async function cancelInvitation(db: Db, workspaceId: string, id: string, actor: string): Promise<void> {
  if (!isUuid(id)) throw new ApiError("not_found", "No such invitation.");
  const rows = await db
    .update(invitation)
    .set({ status: "canceled" })
    .where(and(eq(invitation.id, id), eq(invitation.organizationId, workspaceId), eq(invitation.status, "pending")))
    .returning();
  if (!rows.length) throw new ApiError("not_found", "No such invitation.");
  await audit(db, { workspaceId, actor, action: "invitation.cancelled", detail: { email: rows[0]!.email } });
}

/** A pending, unexpired invitation with its workspace, or null. What the invite page shows. */
export async function openInvitation(db: Db, id: string) {
  if (!isUuid(id)) return null;
  const [row] = await db
    .select({ inv: invitation, workspaceName: organization.name })
    .from(invitation)
    .innerJoin(organization, eq(invitation.organizationId, organization.id))
    .where(and(eq(invitation.id, id), eq(invitation.status, "pending"), gt(invitation.expiresAt, new Date())))
    .limit(1);
  if (!row) return null;
  const [existing] = await db.select({ id: user.id }).from(user).where(eq(user.email, row.inv.email)).limit(1);
  return { ...view(row.inv), workspaceId: row.inv.organizationId, workspaceName: row.workspaceName, hasAccount: !!existing };
}

/** What accepting needs of the accounts system (lib/auth/auth.ts's instance is one). */
export interface AccountCreator {
  api: {
    signUpEmail(req: {
      body: { email: string; name: string; password: string };
      returnHeaders: true;
    }): Promise<{ response: { user: { id: string } }; headers: Headers }>;
  };
}

/**
 * Accepts an invitation. A signed-in user must be the invited email; without a
 * session, a new account is created for the invited email (and signed in).
 */
export async function acceptInvitation(
  db: Db,
  auth: AccountCreator,
  id: string,
  who: { userId: string; email: string } | { newAccount: { name: string; password: string } },
): Promise<{ workspaceId: string; headers: Headers | null }> {
  const inv = await openInvitation(db, id);
  if (!inv) throw new ApiError("not_found", "This invitation is not valid any more (used, cancelled or expired).");
  let userId: string;
  let headers: Headers | null = null;
  if ("userId" in who) {
    if (who.email.toLowerCase() !== inv.email) throw new ApiError("forbidden", `This invitation is for ${inv.email}; you are signed in as ${who.email}.`);
    userId = who.userId;
  } else {
    if (inv.hasAccount) throw new ApiError("conflict", `${inv.email} already has an account: sign in to accept.`);
    const res = await auth.api.signUpEmail({ body: { email: inv.email, name: who.newAccount.name, password: who.newAccount.password }, returnHeaders: true });
    userId = res.response.user.id;
    headers = res.headers;
  }
  await db.transaction(async (tx) => {
    const taken = await tx
      .update(invitation)
      .set({ status: "accepted" })
      .where(and(eq(invitation.id, id), eq(invitation.status, "pending")))
      .returning();
    if (!taken.length) throw new ApiError("not_found", "This invitation was just used.");
    const [already] = await tx
      .select()
      .from(member)
      .where(and(eq(member.organizationId, inv.workspaceId), eq(member.userId, userId)))
      .limit(1);
    if (!already) await tx.insert(member).values({ organizationId: inv.workspaceId, userId, role: inv.role, createdAt: new Date() });
    await audit(tx, { workspaceId: inv.workspaceId, actor: userId, action: "member.joined", detail: { email: inv.email, role: inv.role } });
  });
  return { workspaceId: inv.workspaceId, headers };
}
