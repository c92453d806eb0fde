"use client";
// The Terminal panel: tabs of terminals, each bound to a compute target; the key
// button on the active tab (and "Connect via SSH" in the panel header) opens the SSH access dialog. Tabs and their sessions
// survive a page reload (kept in localStorage, resumed on the server).
import { useCallback, useEffect, useMemo, useState } from "react";
import type { TargetView } from "@/lib/targets/registry";
import type { ConnectionStatus } from "@/lib/terminal/client-connection";
import { CloseIcon, KeyIcon, PlusIcon } from "./icons";
import { KeyDialog } from "./key-dialog";
import { TerminalView } from "./terminal-view";

interface Tab {
  id: string;
  targetId: string;
  sessionId: string | null;
}

const TARGET_REFRESH_MS = 10_000;
/** While a tab waits for its stopped target to come back, look more often. */
const TARGET_REFRESH_WAITING_MS = 2_000;

function storageKey(workspaceId: string) {
  return `meshia.tabs.${workspaceId}`;
}

function loadTabs(workspaceId: string): { tabs: Tab[]; active: string | null } {
  try {
    const raw = localStorage.getItem(storageKey(workspaceId));
    if (!raw) return { tabs: [], active: null };
    const parsed = JSON.parse(raw) as { tabs?: Tab[]; active?: string | null };
    const tabs = Array.isArray(parsed.tabs) ? parsed.tabs.filter((t) => typeof t?.id === "string" && typeof t?.targetId === "string") : [];
    return { tabs, active: typeof parsed.active === "string" ? parsed.active : null };
  } catch {
    return { tabs: [], active: null };
  }
}

function newTabId(): string {
  return crypto.randomUUID();
}

export function TerminalPanel({ workspaceId, initialTargets, role }: { workspaceId: string; initialTargets: TargetView[]; role: "owner" | "member" }) {
  const [targets, setTargets] = useState(initialTargets);
  const [tabs, setTabs] = useState<Tab[]>([]);
  const [active, setActive] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [statuses, setStatuses] = useState<Record<string, ConnectionStatus["kind"]>>({});
  const [dialogOpen, setDialogOpen] = useState(false);
  const [newTabTarget, setNewTabTarget] = useState<string | null>(null);

  const targetById = useMemo(() => new Map(targets.map((t) => [t.id, t])), [targets]);
  const liveTargets = targets.filter((t) => t.status === "live");
  const firstLive = liveTargets[0] ?? null;

  // Restore tabs after mount (localStorage is not available during server rendering).
  useEffect(() => {
    const saved = loadTabs(workspaceId);
    const known = saved.tabs.filter((t) => initialTargets.some((x) => x.id === t.targetId));
    if (known.length === 0 && firstLive) {
      const tab = { id: newTabId(), targetId: firstLive.id, sessionId: null };
      setTabs([tab]);
      setActive(tab.id);
    } else {
      setTabs(known);
      setActive(known.some((t) => t.id === saved.active) ? saved.active : (known[0]?.id ?? null));
    }
    setLoaded(true);
    // Only on mount: later target changes must not reopen tabs.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [workspaceId]);

  useEffect(() => {
    if (!loaded) return;
    localStorage.setItem(storageKey(workspaceId), JSON.stringify({ tabs, active }));
  }, [loaded, tabs, active, workspaceId]);

  // Ports change on every boot and liveness comes and goes: keep the list fresh.
  const refreshTargets = useCallback(async () => {
    try {
      const res = await fetch(`/api/workspaces/${workspaceId}/targets`, { cache: "no-store" });
      if (res.ok) setTargets(((await res.json()) as { targets: TargetView[] }).targets);
    } catch {
      // Offline for a moment; the next refresh will catch up.
    }
  }, [workspaceId]);
  const waiting = Object.values(statuses).includes("compute-stopped");
  useEffect(() => {
    const t = setInterval(() => void refreshTargets(), waiting ? TARGET_REFRESH_WAITING_MS : TARGET_REFRESH_MS);
    return () => clearInterval(t);
  }, [refreshTargets, waiting]);

  const activeTab = tabs.find((t) => t.id === active) ?? null;
  const activeTarget = activeTab ? (targetById.get(activeTab.targetId) ?? null) : null;

  const openTab = (targetId: string) => {
    const tab = { id: newTabId(), targetId, sessionId: null };
    setTabs((ts) => [...ts, tab]);
    setActive(tab.id);
  };

  const closeTab = (id: string) => {
    const hooks = window.__meshia?.terminals[id];
    void hooks?.connection.close();
    setTabs((ts) => {
      const idx = ts.findIndex((t) => t.id === id);
      const rest = ts.filter((t) => t.id !== id);
      if (active === id) setActive(rest[Math.max(0, idx - 1)]?.id ?? null);
      return rest;
    });
  };

  const restartTab = (id: string) => {
    const fresh = newTabId();
    setTabs((ts) => ts.map((t) => (t.id === id ? { ...t, id: fresh, sessionId: null } : t)));
    if (active === id) setActive(fresh);
  };

  const setSession = (tabId: string, sessionId: string) =>
    setTabs((ts) => ts.map((t) => (t.id === tabId && t.sessionId !== sessionId ? { ...t, sessionId } : t)));

  // A target that cannot run sandboxed shells says why, and how to fix it: the active
  // tab's, or (no tab open) the first such target.
  const unavailable = activeTarget ? (activeTarget.unavailable ? activeTarget : null) : tabs.length === 0 ? (targets.find((t) => t.unavailable) ?? null) : null;

  const plusTarget = newTabTarget && targetById.has(newTabTarget) ? newTabTarget : (activeTab?.targetId ?? firstLive?.id ?? targets[0]?.id ?? null);

  return (
    <section className="terminal-panel" aria-label="Terminal">
      <div className="tab-bar">
        <div role="tablist" aria-label="Terminals" className="tabs">
          {tabs.map((tab, i) => {
            const target = targetById.get(tab.targetId);
            const selected = tab.id === active;
            return (
              <div key={tab.id} className={`tab ${selected ? "selected" : ""}`}>
                <button
                  type="button"
                  role="tab"
                  id={`tab-${tab.id}`}
                  aria-selected={selected}
                  aria-controls={`panel-${tab.id}`}
                  className="tab-label"
                  onClick={() => setActive(tab.id)}
                >
                  <span className={`dot state-${statuses[tab.id] ?? "connecting"}`} aria-hidden="true" />
                  {target?.name ?? "target"} <span className="muted">#{i + 1}</span>
                </button>
                {selected && (
                  <button
                    type="button"
                    className="ssh-button"
                    aria-label="SSH access"
                    title="SSH access: connect from your own terminal"
                    onClick={() => setDialogOpen(true)}
                  >
                    <KeyIcon />
                    <span aria-hidden="true">SSH</span>
                  </button>
                )}
                <button type="button" className="icon-button" aria-label={`Close ${target?.name ?? "terminal"} #${i + 1}`} onClick={() => closeTab(tab.id)}>
                  <CloseIcon />
                </button>
              </div>
            );
          })}
        </div>
        <div className="tab-actions">
          {targets.length > 1 && (
            <select aria-label="Target for new terminals" value={plusTarget ?? ""} onChange={(e) => setNewTabTarget(e.target.value)}>
              {targets.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name} ({t.status})
                </option>
              ))}
            </select>
          )}
          <button
            type="button"
            className="plus-button"
            aria-label="New terminal"
            title="New terminal"
            disabled={!plusTarget}
            onClick={() => plusTarget && openTab(plusTarget)}
          >
            <PlusIcon />
          </button>
          <button
            type="button"
            className="button small connect-button"
            title="Connect from your own terminal, VS Code or Cursor"
            disabled={!activeTarget}
            onClick={() => setDialogOpen(true)}
          >
            <KeyIcon />
            Connect via SSH
          </button>
        </div>
      </div>

      {unavailable?.unavailable && (
        <p role="alert" className="error" data-testid="target-unavailable">
          {unavailable.name} is unavailable: {unavailable.unavailable.reason} <strong>Fix:</strong> {unavailable.unavailable.fix}
        </p>
      )}
      <div className="tab-panels">
        {tabs.map((tab) => (
          <div key={tab.id} role="tabpanel" id={`panel-${tab.id}`} aria-labelledby={`tab-${tab.id}`} hidden={tab.id !== active} className="tab-panel">
            <TerminalView
              workspaceId={workspaceId}
              tabId={tab.id}
              targetId={tab.targetId}
              sessionId={tab.sessionId}
              active={tab.id === active}
              targetLive={targetById.get(tab.targetId)?.status === "live"}
              onSession={(id) => setSession(tab.id, id)}
              onStatus={(s) => setStatuses((m) => ({ ...m, [tab.id]: s.kind }))}
              onRestart={() => restartTab(tab.id)}
            />
          </div>
        ))}
        {loaded && tabs.length === 0 && (
          <div className="empty-panel">
            {targets.length === 0 ? (
              <p>This workspace has no compute targets yet.</p>
            ) : (
              <>
                <p>No terminal open.</p>
                {plusTarget && (
                  <button type="button" className="button primary" onClick={() => openTab(plusTarget)}>
                    Open a terminal on {targetById.get(plusTarget)?.name}
                  </button>
                )}
              </>
            )}
          </div>
        )}
      </div>

      <KeyDialog
        workspaceId={workspaceId}
        target={activeTarget}
        liveTargets={liveTargets.length}
        canManageKey={role === "owner"}
        open={dialogOpen}
        onOpenChange={(open) => {
          setDialogOpen(open);
          if (open) void refreshTargets();
        }}
      />
    </section>
  );
}
