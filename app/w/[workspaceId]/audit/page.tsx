// The workspace's audit trail: sign-ins, keys, targets, members, and terminal sessions.
import type { Metadata } from "next";
import { WorkspaceHeader } from "@/components/workspace/workspace-header";
import { requireMember } from "@/lib/auth/page-access";
import { workspaceAudit } from "@/lib/audit";
import { DateTime } from "@/components/ui/date-time";

export const metadata: Metadata = { title: "Audit — Meshia" };

const time = (iso: string) => <DateTime iso={iso} />;

function describe(detail: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const key of ["fingerprint", "replaced", "name", "email", "role", "host", "kind", "bootId", "port", "hostKeyFingerprint"]) {
    if (detail[key] !== undefined && detail[key] !== null) parts.push(`${key}: ${String(detail[key])}`);
  }
  return parts.join(" · ");
}

function duration(s: number | null): string {
  if (s === null) return "open";
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export default async function AuditPage({ params }: { params: Promise<{ workspaceId: string }> }) {
  const { db, user, workspace, workspaces } = await requireMember((await params).workspaceId, "/audit");
  const { events, sessions, access } = await workspaceAudit(db, workspace.id);
  return (
    <main className="workspace-page">
      <WorkspaceHeader workspace={workspace} current="audit" user={user} workspaces={workspaces} />
      <div className="page-body">
        <section aria-labelledby="events-title">
          <h2 id="events-title">Events</h2>
          <table className="table" data-testid="audit-events">
            <thead>
              <tr>
                <th>When</th>
                <th>What</th>
                <th>Who</th>
                <th>Details</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e, i) => (
                <tr key={i}>
                  <td data-label="When">{time(e.at)}</td>
                  <td data-label="What">
                    <code>{e.action}</code>
                  </td>
                  <td data-label="Who">{e.actorEmail ?? (e.actor ? <code>{e.actor}</code> : <span className="muted">system</span>)}</td>
                  <td data-label="Details" className="small">
                    {describe(e.detail)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section aria-labelledby="access-title">
          <h2 id="access-title">SSH access</h2>
          <p className="muted small">
            Logins from people&apos;s own terminals: every attempt on the embedded target, and every key lookup an OpenSSH target&apos;s sshd makes (with the
            client&apos;s address and key when its drop-in passes them).
          </p>
          <table className="table" data-testid="audit-access">
            <thead>
              <tr>
                <th>When</th>
                <th>Target</th>
                <th>What</th>
                <th>From</th>
                <th>Key</th>
                <th>Result</th>
              </tr>
            </thead>
            <tbody>
              {access.map((a, i) => (
                <tr key={i}>
                  <td data-label="When">{time(a.at)}</td>
                  <td data-label="Target">{a.target ?? <span className="muted">removed</span>}</td>
                  <td data-label="What">{a.kind === "login" ? `login as ${a.user}` : `key lookup for ${a.user}`}</td>
                  <td data-label="From">{a.source ? <code>{a.source}</code> : <span className="muted">—</span>}</td>
                  <td data-label="Key" className="small">
                    {a.fingerprint ? <code>{a.fingerprint}</code> : <span className="muted">—</span>}
                    {a.keyState ? ` (${a.keyState} workspace key)` : ""}
                  </td>
                  <td data-label="Result">
                    {a.result}
                    {a.more > 0 ? <span className="muted"> (and {a.more} more like it)</span> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section aria-labelledby="sessions-title">
          <h2 id="sessions-title">Terminal sessions</h2>
          <table className="table" data-testid="audit-sessions">
            <thead>
              <tr>
                <th>Opened</th>
                <th>Who</th>
                <th>Target</th>
                <th>How long</th>
                <th>Exit</th>
                <th>Bytes in / out</th>
              </tr>
            </thead>
            <tbody>
              {sessions.map((s) => (
                <tr key={s.id}>
                  <td data-label="Opened">{time(s.openedAt)}</td>
                  <td data-label="Who">{s.user ?? <span className="muted">unknown</span>}</td>
                  <td data-label="Target">{s.target ?? <span className="muted">removed</span>}</td>
                  <td data-label="How long">{duration(s.durationSeconds)}</td>
                  <td data-label="Exit">{s.exitCode !== null ? `code ${s.exitCode}` : s.exitSignal ? `SIG${s.exitSignal}` : (s.closeReason ?? "—")}</td>
                  <td data-label="Bytes in / out">
                    {s.bytesIn} / {s.bytesOut}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>
    </main>
  );
}
