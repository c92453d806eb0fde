// The workspace's compute targets: what is registered, whether each is live, and
// a form to add an OpenSSH target (its token and install files are shown once).
import type { Metadata } from "next";
import { TargetsManager } from "@/components/workspace/targets-manager";
import { WorkspaceHeader } from "@/components/workspace/workspace-header";
import { requireMember } from "@/lib/auth/page-access";
import { config } from "@/lib/config";
import type { Db } from "@/db/client";
import { listTargets, targetView } from "@/lib/targets/registry";

export const metadata: Metadata = { title: "Compute targets — Meshia" };

/** The targets as of one instant, and that instant. */
async function targetsNow(db: Db, workspaceId: string) {
  const at = Date.now();
  return { at, targets: (await listTargets(db, workspaceId)).map((t) => targetView(t, config().targetLiveWindowMs, at)) };
}

export default async function TargetsPage({ params }: { params: Promise<{ workspaceId: string }> }) {
  const { db, user, workspace, role, workspaces } = await requireMember((await params).workspaceId, "/targets");
  const { at, targets } = await targetsNow(db, workspace.id);
  return (
    <main className="workspace-page">
      <WorkspaceHeader workspace={workspace} current="targets" user={user} workspaces={workspaces} />
      <TargetsManager workspaceId={workspace.id} initialTargets={targets} renderedAt={at} canManage={role === "owner"} />
    </main>
  );
}
