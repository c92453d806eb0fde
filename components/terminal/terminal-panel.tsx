"use client";
// The Terminal panel: tabs of terminals, each bound to a compute target; the key
// button on the active tab (and "Connect via SSH" in the panel header) opens the SSH access dialog. Tabs and their sessions
// survive a page reload (kept in localStorage, resumed on the server).
import { useEffect, useMemo, useRef, useState } from "react";
import { KeyDialog } from "@/components/ssh-access/key-dialog";
import { CloseIcon, KeyIcon, PlusIcon } from "@/components/ui/icons";
import { useHydrated } from "@/components/ui/use-browser-value";
import { useTargets } from "@/components/workspace/use-targets";
import type { TargetView } from "@/lib/http/contract";
import type { TerminalConnection } from "@/lib/terminal/browser/client-connection";
import type { ConnectionStatus } from "@/lib/terminal/browser/status";
import { TerminalView } from "./terminal-view";

interface Tab {
  id: string;
  targetId: string;
  sessionId: string | null;
}

interface Tabs {
  tabs: Tab[];
  active: string | null;
}

const NO_TABS: Tabs = { tabs: [], active: null };
const TARGET_REFRESH_MS = 10_000;
/** While a tab waits for its stopped target to come back, look more often. */
const TARGET_REFRESH_WAITING_MS = 2_000;

function storageKey(workspaceId: string) {
  return `meshia.tabs.${workspaceId}`;
}

function loadTabs(workspaceId: string): Tabs {
  try {
    const raw = localStorage.getItem(storageKey(workspaceId));
    if (!raw) return NO_TABS;
    const parsed = JSON.parse(raw) as { tabs?: Tab[]; active?: string | null };
    const tabs = Array.isArray(parsed.tabs) ? parsed.tabs.filter((t) => typeof t?.id === "string" && typeof t?.targetId === "string") : [];
    return { tabs, active: typeof parsed.active === "string" ? parsed.active : null };
  } catch {
    return NO_TABS;
  }
}

function newTab(targetId: string): Tab {
  return { id: crypto.randomUUID(), targetId, sessionId: null };
}

/** The tabs saved in this browser, on targets that still exist; a first tab on a live target when there are none. */
function restoreTabs(workspaceId: string, targets: TargetView[]): Tabs {
  const saved = loadTabs(workspaceId);
  const known = saved.tabs.filter((t) => targets.some((x) => x.id === t.targetId));
  const firstLive = targets.find((t) => t.status === "live");
  if (known.length === 0 && firstLive) {
    const tab = newTab(firstLive.id);
    return { tabs: [tab], active: tab.id };
  }
  return { tabs: known, active: known.some((t) => t.id === saved.active) ? saved.active : (known[0]?.id ?? null) };
}

export function TerminalPanel({ workspaceId, initialTargets, role }: { workspaceId: string; initialTargets: TargetView[]; role: "owner" | "member" }) {
  // localStorage exists only in the browser: the server (and hydration) render no tabs.
  const hydrated = useHydrated();
  // Tabs come from this browser's storage until the person changes them. Later target
  // changes must not reopen tabs: only the server's first list is used to restore.
  const [initial] = useState(initialTargets);
  const restored = useMemo(() => (hydrated ? restoreTabs(workspaceId, initial) : null), [hydrated, workspaceId, initial]);
  const [edited, setEdited] = useState<Tabs | null>(null);
  const { tabs, active } = edited ?? restored ?? NO_TABS;
  const update = (f: (s: Tabs) => Tabs) => setEdited((prev) => f(prev ?? restored ?? NO_TABS));
  const setActive = (id: string | null) => update((s) => ({ ...s, active: id }));

  const [statuses, setStatuses] = useState<Record<string, ConnectionStatus["kind"]>>({});
  const [dialogOpen, setDialogOpen] = useState(false);
  const [newTabTarget, setNewTabTarget] = useState<string | null>(null);
  /** Each tab's connection, as its view reports it: closing a tab ends its session through it. */
  const connections = useRef(new Map<string, TerminalConnection>());

  const waiting = Object.values(statuses).includes("compute-stopped");
  const { targets, refresh: refreshTargets } = useTargets(workspaceId, initialTargets, waiting ? TARGET_REFRESH_WAITING_MS : TARGET_REFRESH_MS);
  const targetById = useMemo(() => new Map(targets.map((t) => [t.id, t])), [targets]);
  const liveTargets = targets.filter((t) => t.status === "live");
  const firstLive = liveTargets[0] ?? null;

  useEffect(() => {
    if (!hydrated) return;
    localStorage.setItem(storageKey(workspaceId), JSON.stringify({ tabs, active }));
  }, [hydrated, tabs, active, workspaceId]);

  const activeTab = tabs.find((t) => t.id === active) ?? null;
  const activeTarget = activeTab ? (targetById.get(activeTab.targetId) ?? null) : null;

  const openTab = (targetId: string) => {
    const tab = newTab(targetId);
    update((s) => ({ tabs: [...s.tabs, tab], active: tab.id }));
  };

  const closeTab = (id: string) => {
    void connections.current.get(id)?.close();
    update((s) => {
      const idx = s.tabs.findIndex((t) => t.id === id);
      const rest = s.tabs.filter((t) => t.id !== id);
      return { tabs: rest, active: s.active === id ? (rest[Math.max(0, idx - 1)]?.id ?? null) : s.active };
    });
  };

  const restartTab = (id: string) => {
    const fresh = crypto.randomUUID();
    update((s) => ({ tabs: s.tabs.map((t) => (t.id === id ? { ...t, id: fresh, sessionId: null } : t)), active: s.active === id ? fresh : s.active }));
  };

  const setSession = (tabId: string, sessionId: string) =>
    update((s) => ({ ...s, tabs: s.tabs.map((t) => (t.id === tabId && t.sessionId !== sessionId ? { ...t, sessionId } : t)) }));

  const setConnection = (tabId: string, conn: TerminalConnection | null) => {
    if (conn) connections.current.set(tabId, conn);
    else connections.current.delete(tabId);
  };

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
              onConnection={(conn) => setConnection(tab.id, conn)}
              onRestart={() => restartTab(tab.id)}
            />
          </div>
        ))}
        {hydrated && tabs.length === 0 && (
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
