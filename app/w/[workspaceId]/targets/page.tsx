// The workspace's compute targets: what is registered, whether each is live, and
// a form to add an OpenSSH target (its token and install files are shown once).
import type { Metadata } from "next";
import { TargetsManager } from "@/components/workspace/targets-manager";
import { WorkspaceHeader } from "@/components/workspace/workspace-header";
import { requireMember } from "@/lib/auth/page-access";
import { listTargetViews } from "@/lib/targets/registry";

export const metadata: Metadata = { title: "Compute targets — Meshia" };

export default async function TargetsPage({ params }: { params: Promise<{ workspaceId: string }> }) {
  const { db, user, workspace, role, workspaces } = await requireMember((await params).workspaceId, "/targets");
  const { targets, at } = await listTargetViews(db, workspace.id);
  return (
    <main className="workspace-page">
      <WorkspaceHeader workspace={workspace} current="targets" user={user} workspaces={workspaces} />
      {/* `renderedAt` lets the server and the browser print the same "seen 5 s ago" on first paint. */}
      <TargetsManager workspaceId={workspace.id} initialTargets={targets} renderedAt={at} canManage={role === "owner"} />
    </main>
  );
}
