// An invitation link: join a workspace, creating an account if needed.
import type { Metadata } from "next";
import Link from "next/link";
import { AcceptInvitation } from "@/components/auth/accept-invitation";
import { appDb } from "@/db/client";
import { openInvitation } from "@/lib/workspaces/invitations";
import { currentUser } from "@/lib/auth/page-access";

export const metadata: Metadata = { title: "Invitation — Meshia" };

export default async function InvitePage({ params }: { params: Promise<{ invitationId: string }> }) {
  const user = await currentUser();
  const { invitationId } = await params;
  const inv = await openInvitation(await appDb(), invitationId);
  return (
    <main className="auth-page">
      <h1>
        <span className="brand">Meshia</span> invitation
      </h1>
      {!inv ? (
        <p>
          This invitation is not valid any more (used, cancelled or expired). <Link href="/">Go to Meshia</Link>.
        </p>
      ) : (
        <>
          <p>
            You are invited to join <strong>{inv.workspaceName}</strong> as {inv.role === "owner" ? "an owner" : "a member"}, as <strong>{inv.email}</strong>.
          </p>
          <AcceptInvitation invitationId={inv.id} email={inv.email} signedInAs={user?.email ?? null} hasAccount={inv.hasAccount} />
        </>
      )}
    </main>
  );
}
