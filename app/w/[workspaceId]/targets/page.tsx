// The workspace's compute targets: what is registered, whether each is live, and
// a form to add an OpenSSH target (its token and install files are shown once).
import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { connection } from "next/server";
import { TargetsManager } from "@/components/targets-manager";
import { WorkspaceHeader } from "@/components/workspace-header";
import { db } from "@/db/client";
import { config } from "@/lib/config";
import { listTargets, targetView } from "@/lib/targets/registry";
import { findWorkspace } from "@/lib/workspaces";

export const metadata: Metadata = { title: "Compute targets — Meshia" };

export default async function TargetsPage({ params }: { params: Promise<{ workspaceId: string }> }) {
  await connection();
  const { workspaceId } = await params;
  const database = await db();
  const workspace = await findWorkspace(database, workspaceId);
  if (!workspace) notFound();
  const now = Date.now();
  const targets = (await listTargets(database, workspace.id)).map((t) => targetView(t, config().targetLiveWindowMs, now));
  return (
    <main className="workspace-page">
      <WorkspaceHeader workspace={workspace} current="targets" />
      {/* `renderedAt` lets the server and the browser print the same "seen 5 s ago" on first paint. */}
      <TargetsManager workspaceId={workspace.id} initialTargets={targets} renderedAt={now} />
    </main>
  );
}
