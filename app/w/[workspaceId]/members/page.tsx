// The workspace's members and invitations.
import type { Metadata } from "next";
import { headers } from "next/headers";
import { publicOrigin } from "@/lib/http/origin";
import { MembersManager } from "@/components/workspace/members-manager";
import { WorkspaceHeader } from "@/components/workspace/workspace-header";
import { listInvitations } from "@/lib/workspaces/invitations";
import { requireMember } from "@/lib/auth/page-access";
import { listMembers } from "@/lib/workspaces/members";

export const metadata: Metadata = { title: "Members — Meshia" };

export default async function MembersPage({ params }: { params: Promise<{ workspaceId: string }> }) {
  const { db, user, workspace, role, workspaces } = await requireMember((await params).workspaceId, "/members");
  const origin = publicOrigin(await headers());
  const invitations =
    role === "owner" ? (await listInvitations(db, workspace.id)).map((i) => ({ ...i, link: origin ? `${origin}/invite/${i.id}` : null })) : [];
  return (
    <main className="workspace-page">
      <WorkspaceHeader workspace={workspace} current="members" user={user} workspaces={workspaces} />
      <MembersManager
        workspaceId={workspace.id}
        me={user.userId}
        canManage={role === "owner"}
        initialMembers={await listMembers(db, workspace.id)}
        initialInvitations={invitations}
      />
    </main>
  );
}
