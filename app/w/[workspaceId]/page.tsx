// The workspace page: the Terminal panel on the workspace's compute targets.
import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { connection } from "next/server";
import { TerminalPanel } from "@/components/terminal-panel";
import { WorkspaceHeader } from "@/components/workspace-header";
import { db } from "@/db/client";
import { config } from "@/lib/config";
import { listTargets, targetView } from "@/lib/targets/registry";
import { findWorkspace } from "@/lib/workspaces";

export const metadata: Metadata = { title: "Terminal — Meshia" };

export default async function WorkspacePage({ params }: { params: Promise<{ workspaceId: string }> }) {
  await connection();
  const { workspaceId } = await params;
  const database = await db();
  const workspace = await findWorkspace(database, workspaceId);
  if (!workspace) notFound();
  const window = config().targetLiveWindowMs;
  const targets = (await listTargets(database, workspace.id)).map((t) => targetView(t, window));
  return (
    <main className="workspace">
      <WorkspaceHeader workspace={workspace} current="terminal" />
      <TerminalPanel workspaceId={workspace.id} initialTargets={targets} />
    </main>
  );
}
