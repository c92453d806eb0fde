// The workspace page: the Terminal panel on the workspace's compute targets.
import type { Metadata } from "next";
import { TerminalPanel } from "@/components/terminal/terminal-panel";
import { WorkspaceHeader } from "@/components/workspace/workspace-header";
import { requireMember } from "@/lib/auth/page-access";
import { listTargetViews } from "@/lib/targets/registry";

export const metadata: Metadata = { title: "Terminal — Meshia" };

export default async function WorkspacePage({ params }: { params: Promise<{ workspaceId: string }> }) {
  const { db, user, workspace, role, workspaces } = await requireMember((await params).workspaceId);
  const { targets } = await listTargetViews(db, workspace.id);
  return (
    <main className="workspace">
      <WorkspaceHeader workspace={workspace} current="terminal" user={user} workspaces={workspaces} />
      <TerminalPanel workspaceId={workspace.id} initialTargets={targets} role={role} />
    </main>
  );
}
