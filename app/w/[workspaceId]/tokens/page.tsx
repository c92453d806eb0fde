// The signed-in person's API tokens for this workspace.
import type { Metadata } from "next";
import { headers } from "next/headers";
import { publicOrigin } from "@/lib/http/origin";
import { TokensManager } from "@/components/workspace/tokens-manager";
import { WorkspaceHeader } from "@/components/workspace/workspace-header";
import { requireMember } from "@/lib/auth/page-access";
import { listTokens } from "@/lib/workspaces/tokens";

export const metadata: Metadata = { title: "API tokens — Meshia" };

export default async function TokensPage({ params }: { params: Promise<{ workspaceId: string }> }) {
  const { db, user, workspace, workspaces } = await requireMember((await params).workspaceId, "/tokens");
  const origin = publicOrigin(await headers());
  return (
    <main className="workspace-page">
      <WorkspaceHeader workspace={workspace} current="tokens" user={user} workspaces={workspaces} />
      <TokensManager workspaceId={workspace.id} origin={origin} initialTokens={await listTokens(db, user.userId, workspace.id)} />
    </main>
  );
}
