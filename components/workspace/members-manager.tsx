"use client";
// Members of a workspace, pending invitations, and (for owners) inviting and removing.
import { useCallback, useState } from "react";
import { apiFetch } from "@/components/api/client";
import { useApiForm } from "@/components/api/use-api-form";
import { CopyButton } from "@/components/ui/copy-button";
import { DataTable, type Column } from "@/components/ui/data-table";
import { DateTime } from "@/components/ui/date-time";
import { Field } from "@/components/ui/field";
import { RemovalError, RemoveButton, useRowRemoval } from "@/components/ui/row-removal";
import type { InvitationWithLink, InvitationsResponse, MemberView, MembersResponse } from "@/lib/http/contract";
import { ErrorAlert } from "@/components/ui/error-alert";

const MEMBER_COLUMNS: Column<MemberView>[] = [
  { header: "Name", cell: (m) => m.name },
  { header: "Email", cell: (m) => m.email },
  { header: "Role", cell: (m) => m.role },
  { header: "Joined", cell: (m) => <DateTime iso={m.joinedAt} /> },
];

const INVITATION_COLUMNS: Column<InvitationWithLink>[] = [
  { header: "Invited", cell: (i) => i.email },
  { header: "Role", cell: (i) => i.role },
  { header: "Expires", cell: (i) => <DateTime iso={i.expiresAt} /> },
  {
    header: "Link",
    cell: (i) =>
      i.link ? (
        <>
          <code className="small" data-testid="invitation-link">
            {i.link}
          </code>{" "}
          <CopyButton text={i.link} label="Copy link" className="button small" />
        </>
      ) : (
        <span className="muted small">Set MESHIA_PUBLIC_URL to show invitation links.</span>
      ),
  },
];

export function MembersManager({
  workspaceId,
  me,
  canManage,
  initialMembers,
  initialInvitations,
}: {
  workspaceId: string;
  me: string;
  canManage: boolean;
  initialMembers: MemberView[];
  initialInvitations: InvitationWithLink[];
}) {
  const [members, setMembers] = useState(initialMembers);
  const [invitations, setInvitations] = useState(initialInvitations);
  const form = useApiForm();
  const base = `/api/workspaces/${workspaceId}`;

  const refresh = useCallback(async () => {
    const [m, i] = await Promise.all([apiFetch<MembersResponse>(`${base}/members`), canManage ? apiFetch<InvitationsResponse>(`${base}/invitations`) : null]);
    if (m.ok) setMembers(m.data.members);
    if (i?.ok) setInvitations(i.data.invitations);
  }, [base, canManage]);
  const memberRemoval = useRowRemoval(refresh);
  const invitationRemoval = useRowRemoval(refresh);

  return (
    <div className="page-body">
      <section aria-labelledby="members-title">
        <h2 id="members-title">Members</h2>
        <DataTable
          rows={members}
          columns={MEMBER_COLUMNS}
          rowKey={(m) => m.userId}
          {...(canManage
            ? {
                actions: (m: MemberView) =>
                  m.userId !== me && <RemoveButton removal={memberRemoval} id={m.userId} url={`${base}/members/${m.userId}`} label={`Remove ${m.email}`} />,
              }
            : {})}
        />
        <RemovalError removal={memberRemoval} />
      </section>

      {canManage && (
        <section aria-labelledby="invite-title">
          <h2 id="invite-title">Invite someone</h2>
          <p className="muted">Meshia sends no email: give the person the invitation link. It works once, for that email, for 7 days.</p>
          <form
            className="inline-form"
            onSubmit={async (e) => {
              e.preventDefault();
              const el = e.currentTarget;
              const f = new FormData(el);
              const res = await form.submit(`${base}/invitations`, { email: f.get("email"), role: f.get("role") });
              if (res) {
                el.reset();
                await refresh();
              }
            }}
          >
            <Field label="Email" name="email" type="email" required error={form.fieldErrors.email} />
            <div className="field">
              <label htmlFor="invite-role">Role</label>
              <select id="invite-role" name="role" defaultValue="member">
                <option value="member">member — terminals and the ssh command</option>
                <option value="owner">owner — also keys, targets and members</option>
              </select>
            </div>
            <button type="submit" className="button primary" disabled={form.busy}>
              Invite
            </button>
          </form>
          <ErrorAlert message={form.error} />
          {invitations.length > 0 && (
            <DataTable
              rows={invitations}
              columns={INVITATION_COLUMNS}
              rowKey={(i) => i.id}
              actions={(i) => (
                <RemoveButton
                  removal={invitationRemoval}
                  id={i.id}
                  url={`${base}/invitations/${i.id}`}
                  label={`Cancel the invitation of ${i.email}`}
                  verb="Cancel"
                  keep="Keep"
                />
              )}
            />
          )}
          <RemovalError removal={invitationRemoval} />
        </section>
      )}
    </div>
  );
}
