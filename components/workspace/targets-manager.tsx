"use client";
// The workspace's compute targets, kept fresh (boots change ports, liveness comes
// and goes), with the "Add target" form, removal of OpenSSH targets, and stop and
// start of the embedded one.
import { useState } from "react";
import { apiFetch } from "@/components/api/client";
import { DataTable, type Column } from "@/components/ui/data-table";
import { RemovalError, RemoveButton, useRowRemoval } from "@/components/ui/row-removal";
import type { TargetView } from "@/lib/http/contract";
import { formatDateTime } from "@/lib/format-date";
import { AddTargetForm } from "./add-target-form";
import { useTargets } from "./use-targets";

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

function columns(now: number): Column<TargetView>[] {
  return [
    { header: "Name", cell: (t) => t.name },
    { header: "Kind", cell: (t) => (t.kind === "local" ? "embedded" : "OpenSSH") },
    { header: "Address", cell: (t) => <code>{address(t)}</code> },
    {
      header: "Status",
      cell: (t) => (
        <>
          <span className={`dot target-${t.status}`} aria-hidden="true" /> {t.status}
          {t.unavailable && (
            <p className="error small" data-testid="target-unavailable">
              {t.unavailable.reason} <strong>Fix:</strong> {t.unavailable.fix}
            </p>
          )}
        </>
      ),
    },
    {
      header: "Host key",
      cell: (t) =>
        t.hostKeyFingerprint ? (
          <span>
            {t.hostKeyType && <span className="muted">{t.hostKeyType} </span>}
            <code data-testid="target-host-key">{t.hostKeyFingerprint}</code>
          </span>
        ) : (
          <span className="muted">not booted yet</span>
        ),
    },
    {
      header: "Last seen",
      cell: (t) =>
        t.lastSeenAt ? (
          <time dateTime={t.lastSeenAt} title={formatDateTime(t.lastSeenAt)}>
            {ago(t.lastSeenAt, now)}
          </time>
        ) : (
          <span className="muted">never</span>
        ),
    },
  ];
}

export function TargetsManager({
  workspaceId,
  initialTargets,
  renderedAt,
  canManage,
}: {
  workspaceId: string;
  initialTargets: TargetView[];
  /** When the server read `initialTargets`: the server and the browser print the same "seen 5 s ago" on first paint. */
  renderedAt: number;
  /** Owners register and remove targets; members only see them. */
  canManage: boolean;
}) {
  const base = `/api/workspaces/${workspaceId}/targets`;
  const { targets, setTargets, checkedAt } = useTargets(workspaceId, initialTargets, REFRESH_MS, renderedAt);
  const [busy, setBusy] = useState<string | null>(null);
  const removal = useRowRemoval((id) => setTargets((ts) => ts.filter((x) => x.id !== id)));

  // Stop ends every connection and terminal on the target; start boots it on a new port.
  const power = async (t: TargetView, action: "stop" | "start") => {
    removal.fail(null);
    setBusy(t.id);
    const r = await apiFetch<TargetView>(`${base}/${t.id}/${action}`, { method: "POST" });
    setBusy(null);
    if (!r.ok) return removal.fail(r.message);
    setTargets((ts) => ts.map((x) => (x.id === r.data.id ? r.data : x)));
  };

  const actions = (t: TargetView) => (
    <>
      {t.kind === "local" && (
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
      {t.kind === "openssh" && <RemoveButton removal={removal} id={t.id} url={`${base}/${t.id}`} label={`Remove ${t.name}`} />}
    </>
  );

  return (
    <div className="targets-page">
      <section className="card" aria-labelledby="targets-title">
        <h2 id="targets-title">Compute targets</h2>
        {targets.length === 0 ? (
          <p className="muted">This workspace has no compute targets yet. Add an OpenSSH host below.</p>
        ) : (
          <DataTable
            className="targets-table"
            rows={targets}
            columns={columns(checkedAt)}
            rowKey={(t) => t.id}
            rowProps={(t) => ({ "data-testid": "target-row", "data-target-id": t.id, "data-status": t.status })}
            {...(canManage ? { actions } : {})}
          />
        )}
        {removal.confirming && <p className="muted small">Removing a target stops its token working at once and ends its terminal sessions.</p>}
        <RemovalError removal={removal} />
      </section>
      {canManage ? (
        <AddTargetForm workspaceId={workspaceId} onAdded={(t) => setTargets((ts) => [...ts.filter((x) => x.id !== t.id), t])} />
      ) : (
        <p className="muted">Only owners of this workspace can add or remove compute targets.</p>
      )}
    </div>
  );
}
