"use client";
// One terminal tab: an xterm bound to a TerminalConnection. One effect creates the
// terminal and the connection and returns the disposer; the connection lives as long.
import "@xterm/xterm/css/xterm.css";
import type { SearchAddon } from "@xterm/addon-search";
import type { Terminal } from "@xterm/xterm";
import { useEffect, useEffectEvent, useRef, useState } from "react";
import { TerminalConnection } from "@/lib/terminal/browser/client-connection";
import type { ConnectionStatus } from "@/lib/terminal/browser/status";
import { barKeySequence, type BarKey } from "@/lib/terminal/browser/touch-keys";
import { createTerminal } from "./create-terminal";
import { SearchBar } from "./search-bar";
import { attachShortcuts, pasteClipboard } from "./shortcuts";
import { StatusBar } from "./status-bar";
import { exposeForTests } from "./test-hooks";
import { TouchKeyBar } from "./touch-key-bar";
import { recentText, useTouchKeys } from "./use-touch-keys";

const RESIZE_DEBOUNCE_MS = 100;
/** Replies xterm generates to terminal queries (DA, DSR, DECRQM, OSC colour, DCS): never sent for replayed output. */
const QUERY_REPLY = /^\x1b(\[[?>=]?[\d;]*[cRn]|\[\?[\d;]*\$y|\][\d;]*[^\x07\x1b]*(\x07|\x1b\\)|P[\s\S]*\x1b\\)$/;

export function TerminalView({
  workspaceId,
  tabId,
  targetId,
  sessionId,
  active,
  targetLive = true,
  onSession,
  onStatus,
  onConnection,
  onRestart,
}: {
  workspaceId: string;
  tabId: string;
  targetId: string;
  /** The session to resume when the view mounts (after a reload); later changes are this tab's own. */
  sessionId: string | null;
  active: boolean;
  /** Whether the tab's target runs now: a session ended by "compute stopped" is restarted only once it is back. */
  targetLive?: boolean;
  onSession(sessionId: string): void;
  onStatus(status: ConnectionStatus): void;
  /** The tab's connection once made, and null when it is gone: the panel closes sessions through it. */
  onConnection(connection: TerminalConnection | null): void;
  /** Replace this tab's ended session with a new one. */
  onRestart(): void;
}) {
  const host = useRef<HTMLDivElement>(null);
  const termRef = useRef<Terminal | null>(null);
  const connRef = useRef<TerminalConnection | null>(null);
  const searchRef = useRef<SearchAddon | null>(null);
  const searchInput = useRef<HTMLInputElement>(null);
  const resumeFrom = useRef(sessionId);
  const [status, setStatus] = useState<ConnectionStatus>({ kind: "connecting" });
  const [idleWarning, setIdleWarning] = useState<string | null>(null);
  const [searchOpen, setSearchOpen] = useState(false);
  const [now, setNow] = useState(() => Date.now());
  const keys = useTouchKeys();
  const withModifiers = keys.withModifiers;
  const sendBarKey = (key: BarKey) => {
    const term = termRef.current;
    if (!term) return;
    connRef.current?.input(withModifiers(barKeySequence(key, term.modes.applicationCursorKeysMode)));
    term.focus();
  };
  // The latest callbacks, without re-running the terminal effect when they change.
  const sessionChanged = useEffectEvent((id: string) => onSession(id));
  const statusChanged = useEffectEvent((s: ConnectionStatus) => onStatus(s));
  const connectionChanged = useEffectEvent((c: TerminalConnection | null) => onConnection(c));

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const { term, fit, search } = createTerminal(el);
    termRef.current = term;
    searchRef.current = search;

    // While replayed output is parsed, xterm would answer the queries in it (cursor
    // position, device attributes) as if they were new, typing garbage into the shell.
    let replaying = 0;
    const conn = new TerminalConnection({
      workspaceId,
      targetId,
      sessionId: resumeFrom.current,
      events: {
        output(data, seq, replay) {
          if (replay) replaying++;
          term.write(data, () => {
            if (replay) replaying--;
            conn.processed(seq + data.byteLength);
          });
        },
        snapshot(data) {
          replaying++;
          term.reset();
          term.write(data, () => replaying--);
        },
        status(s) {
          setStatus(s);
          if (s.kind === "live") setIdleWarning(null);
          statusChanged(s);
        },
        idleWarning: setIdleWarning,
        session: (id) => sessionChanged(id),
      },
    });
    connRef.current = conn;

    term.onData((data) => {
      if (replaying > 0 && QUERY_REPLY.test(data)) return;
      setIdleWarning(null);
      conn.input(withModifiers(data));
    });
    term.onBinary((data) => conn.input(Uint8Array.from(data, (c) => c.charCodeAt(0))));
    attachShortcuts(term, () => {
      setSearchOpen(true);
      setTimeout(() => searchInput.current?.select(), 0);
    });

    // Size: fit to the container, debounced; zero sizes (hidden tab) and duplicates
    // are dropped by the connection. The first size goes with the first frame.
    const fitNow = () => {
      if (!el.offsetWidth || !el.offsetHeight) return;
      try {
        fit.fit();
      } catch {
        return;
      }
      conn.resize(term.cols, term.rows);
    };
    let resizeTimer: ReturnType<typeof setTimeout> | null = null;
    const observer = new ResizeObserver(() => {
      if (resizeTimer) clearTimeout(resizeTimer);
      resizeTimer = setTimeout(fitNow, RESIZE_DEBOUNCE_MS);
    });
    observer.observe(el);
    fitNow();
    conn.start();
    connectionChanged(conn);
    const unexpose = exposeForTests(tabId, { term, connection: conn });

    return () => {
      observer.disconnect();
      if (resizeTimer) clearTimeout(resizeTimer);
      unexpose();
      connectionChanged(null);
      conn.dispose();
      term.dispose();
      termRef.current = null;
      connRef.current = null;
    };
  }, [workspaceId, tabId, targetId, withModifiers]);

  useEffect(() => {
    if (!active) return;
    termRef.current?.focus();
  }, [active]);

  // A ticking clock only while a countdown is shown.
  useEffect(() => {
    if (status.kind !== "reconnecting" && status.kind !== "limited") return;
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, [status.kind]);

  return (
    <div className="terminal-view" hidden={!active} data-tab={tabId}>
      <StatusBar status={status} now={now} targetLive={targetLive} onRetry={() => connRef.current?.retryNow()} onRestart={onRestart} />
      {idleWarning && (
        <div className="banner warning" role="status">
          {idleWarning}
        </div>
      )}
      {searchOpen && (
        <SearchBar
          inputRef={searchInput}
          onFind={(query, backwards) => (backwards ? searchRef.current?.findPrevious(query) : searchRef.current?.findNext(query))}
          onClose={() => {
            setSearchOpen(false);
            searchRef.current?.clearDecorations();
            termRef.current?.focus();
          }}
        />
      )}
      <div ref={host} className="terminal-host" data-testid="terminal" data-status={status.kind} />
      {keys.touch && (
        <TouchKeyBar
          mods={keys.mods}
          onToggle={keys.toggle}
          onKey={sendBarKey}
          onPaste={() => pasteClipboard(termRef.current)}
          screenText={() => (termRef.current ? recentText(termRef.current) : "")}
        />
      )}
    </div>
  );
}
