"use client";
// Members of a workspace, pending invitations, and (for owners) inviting and removing.
import { useCallback, useState } from "react";
import type { InvitationView } from "@/lib/workspaces/invitations";
import type { MemberView } from "@/lib/workspaces/members";
import { apiDelete } from "./api-errors";
import { CopyButton } from "./copy-button";
import { Field } from "./field";
import { useApiForm } from "./use-api-form";
import { DateTime } from "./date-time";

type Invitation = InvitationView & { link: string | null };

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
  initialInvitations: Invitation[];
}) {
  const [members, setMembers] = useState(initialMembers);
  const [invitations, setInvitations] = useState(initialInvitations);
  const [actionError, setActionError] = useState<string | null>(null);
  const form = useApiForm();
  const base = `/api/workspaces/${workspaceId}`;

  const refresh = useCallback(async () => {
    const [m, i] = await Promise.all([fetch(`${base}/members`), canManage ? fetch(`${base}/invitations`) : null]);
    if (m.ok) setMembers(((await m.json()) as { members: MemberView[] }).members);
    if (i?.ok) setInvitations(((await i.json()) as { invitations: Invitation[] }).invitations);
  }, [base, canManage]);

  const del = async (url: string) => {
    setActionError(await apiDelete(url));
    await refresh();
  };

  return (
    <div className="page-body">
      <section aria-labelledby="members-title">
        <h2 id="members-title">Members</h2>
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Role</th>
              <th>Joined</th>
              {canManage && <th aria-label="Actions" />}
            </tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <tr key={m.userId}>
                <td data-label="Name">{m.name}</td>
                <td data-label="Email">{m.email}</td>
                <td data-label="Role">{m.role}</td>
                <td data-label="Joined">
                  <DateTime iso={m.joinedAt} />
                </td>
                {canManage && (
                  <td className="actions">
                    {m.userId !== me && (
                      <button
                        type="button"
                        className="button small danger-outline"
                        aria-label={`Remove ${m.email}`}
                        onClick={() => void del(`${base}/members/${m.userId}`)}
                      >
                        Remove
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
        {actionError && (
          <p role="alert" className="error">
            {actionError}
          </p>
        )}
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
          {form.error && (
            <p role="alert" className="error">
              {form.error}
            </p>
          )}
          {invitations.length > 0 && (
            <table className="table">
              <thead>
                <tr>
                  <th>Invited</th>
                  <th>Role</th>
                  <th>Expires</th>
                  <th>Link</th>
                  <th aria-label="Actions" />
                </tr>
              </thead>
              <tbody>
                {invitations.map((i) => (
                  <tr key={i.id}>
                    <td data-label="Invited">{i.email}</td>
                    <td data-label="Role">{i.role}</td>
                    <td data-label="Expires">
                      <DateTime iso={i.expiresAt} />
                    </td>
                    <td data-label="Link">
                      {i.link ? (
                        <>
                          <code className="small" data-testid="invitation-link">
                            {i.link}
                          </code>{" "}
                          <CopyButton text={i.link} label="Copy link" className="button small" />
                        </>
                      ) : (
                        <span className="muted small">Set MESHIA_PUBLIC_URL to show invitation links.</span>
                      )}
                    </td>
                    <td className="actions">
                      <button
                        type="button"
                        className="button small"
                        aria-label={`Cancel the invitation of ${i.email}`}
                        onClick={() => void del(`${base}/invitations/${i.id}`)}
                      >
                        Cancel
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}
    </div>
  );
}
