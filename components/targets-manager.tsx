"use client";
// The workspace's compute targets, kept fresh (boots change ports, liveness comes
// and goes), with the "Add target" form, removal of OpenSSH targets, and stop and
// start of the embedded one.
import { useCallback, useEffect, useState } from "react";
import type { TargetView } from "@/lib/targets/registry";
import { AddTargetForm } from "./add-target-form";
import { apiDelete, readApiError } from "./api-errors";
import { formatDateTime } from "@/lib/format-date";

const REFRESH_MS = 5_000;

function address(t: TargetView): string {
  const host = t.host.includes(":") ? `[${t.host}]` : t.host;
  return `${host}:${t.port ?? "—"}`;
}

function ago(iso: string | null, now: number): string {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export function TargetsManager({
  workspaceId,
  initialTargets,
  renderedAt,
  canManage,
}: {
  workspaceId: string;
  initialTargets: TargetView[];
  renderedAt: number;
  /** Owners register and remove targets; members only see them. */
  canManage: boolean;
}) {
  const [targets, setTargets] = useState(initialTargets);
  const [now, setNow] = useState(renderedAt);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [removeError, setRemoveError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      const res = await fetch(`/api/workspaces/${workspaceId}/targets`, { cache: "no-store" });
      if (res.ok) setTargets(((await res.json()) as { targets: TargetView[] }).targets);
    } catch {
      // Offline for a moment; the next refresh catches up.
    }
    setNow(Date.now());
  }, [workspaceId]);

  useEffect(() => {
    const t = setInterval(() => void refresh(), REFRESH_MS);
    return () => clearInterval(t);
  }, [refresh]);

  const remove = async (t: TargetView) => {
    setRemoveError(null);
    const failed = await apiDelete(`/api/workspaces/${workspaceId}/targets/${t.id}`);
    if (failed) return setRemoveError(failed);
    setConfirming(null);
    setTargets((ts) => ts.filter((x) => x.id !== t.id));
  };

  // Stop ends every connection and terminal on the target; start boots it on a new port.
  const power = async (t: TargetView, action: "stop" | "start") => {
    setRemoveError(null);
    setBusy(t.id);
    try {
      const res = await fetch(`/api/workspaces/${workspaceId}/targets/${t.id}/${action}`, { method: "POST" });
      if (!res.ok) return setRemoveError((await readApiError(res)).message);
      const updated = (await res.json()) as TargetView;
      setTargets((ts) => ts.map((x) => (x.id === updated.id ? updated : x)));
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="targets-page">
      <section className="card" aria-labelledby="targets-title">
        <h2 id="targets-title">Compute targets</h2>
        {targets.length === 0 ? (
          <p className="muted">This workspace has no compute targets yet. Add an OpenSSH host below.</p>
        ) : (
          <table className="targets-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Address</th>
                <th scope="col">Status</th>
                <th scope="col">Host key</th>
                <th scope="col">Last seen</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {targets.map((t) => (
                <tr key={t.id} data-testid="target-row" data-target-id={t.id} data-status={t.status}>
                  <td data-label="Name">{t.name}</td>
                  <td data-label="Kind">{t.kind === "local" ? "embedded" : "OpenSSH"}</td>
                  <td data-label="Address">
                    <code>{address(t)}</code>
                  </td>
                  <td data-label="Status">
                    <span className={`dot target-${t.status}`} aria-hidden="true" /> {t.status}
                    {t.unavailable && (
                      <p className="error small" data-testid="target-unavailable">
                        {t.unavailable.reason} <strong>Fix:</strong> {t.unavailable.fix}
                      </p>
                    )}
                  </td>
                  <td data-label="Host key">
                    {t.hostKeyFingerprint ? (
                      <span>
                        {t.hostKeyType && <span className="muted">{t.hostKeyType} </span>}
                        <code data-testid="target-host-key">{t.hostKeyFingerprint}</code>
                      </span>
                    ) : (
                      <span className="muted">not booted yet</span>
                    )}
                  </td>
                  <td data-label="Last seen">
                    {t.lastSeenAt ? (
                      <time dateTime={t.lastSeenAt} title={formatDateTime(t.lastSeenAt)}>
                        {ago(t.lastSeenAt, now)}
                      </time>
                    ) : (
                      <span className="muted">never</span>
                    )}
                  </td>
                  <td className="actions">
                    {canManage && t.kind === "local" && (
                      <button
                        type="button"
                        className="button small"
                        disabled={busy === t.id}
                        aria-label={`${t.status === "live" ? "Stop" : "Start"} ${t.name}`}
                        onClick={() => void power(t, t.status === "live" ? "stop" : "start")}
                      >
                        {t.status === "live" ? "Stop" : "Start"}
                      </button>
                    )}
                    {canManage &&
                      t.kind === "openssh" &&
                      (confirming === t.id ? (
                        <span className="row" role="group" aria-label={`Confirm removing ${t.name}`}>
                          <button type="button" className="button small" onClick={() => setConfirming(null)}>
                            Cancel
                          </button>
                          <button type="button" className="button small danger" onClick={() => void remove(t)}>
                            Remove {t.name}
                          </button>
                        </span>
                      ) : (
                        <button type="button" className="button small danger-outline" aria-label={`Remove ${t.name}`} onClick={() => setConfirming(t.id)}>
                          Remove
                        </button>
                      ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {confirming && <p className="muted small">Removing a target stops its token working at once and ends its terminal sessions.</p>}
        {removeError && (
          <p role="alert" className="error">
            {removeError}
          </p>
        )}
      </section>
      {canManage ? (
        <AddTargetForm workspaceId={workspaceId} onAdded={(t) => setTargets((ts) => [...ts.filter((x) => x.id !== t.id), t])} />
      ) : (
        <p className="muted">Only owners of this workspace can add or remove compute targets.</p>
      )}
    </div>
  );
}
