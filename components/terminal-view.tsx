"use client";
// One terminal tab: an xterm bound to a TerminalConnection. One effect creates the
// terminal and its addons and returns the disposer; the connection lives as long.
import "@xterm/xterm/css/xterm.css";
import { FitAddon } from "@xterm/addon-fit";
import { SearchAddon } from "@xterm/addon-search";
import { Unicode11Addon } from "@xterm/addon-unicode11";
import { WebLinksAddon } from "@xterm/addon-web-links";
import { WebglAddon } from "@xterm/addon-webgl";
import { Terminal } from "@xterm/xterm";
import { useEffect, useRef, useState } from "react";
import { TerminalConnection, type ConnectionStatus } from "@/lib/terminal/client-connection";
import { barKeySequence, type BarKey } from "@/lib/terminal/touch-keys";
import { TerminalSearch } from "./terminal-search";
import { StatusBar } from "./terminal-status-bar";
import { TouchKeyBar } from "./touch-key-bar";
import { recentText, useTouchKeys } from "./use-touch-keys";
import { copyText } from "./use-copy";

const RESIZE_DEBOUNCE_MS = 100;
/** Replies xterm generates to terminal queries (DA, DSR, DECRQM, OSC colour, DCS): never sent for replayed output. */
const QUERY_REPLY = /^\x1b(\[[?>=]?[\d;]*[cRn]|\[\?[\d;]*\$y|\][\d;]*[^\x07\x1b]*(\x07|\x1b\\)|P[\s\S]*\x1b\\)$/;

declare global {
  interface Window {
    /** Test hook: the open terminals by tab id (read by the browser tests). */
    __meshia?: { terminals: Record<string, { term: Terminal; connection: TerminalConnection }> };
  }
}

/**
 * True when WebGL is emulated on the CPU (SwiftShader, llvmpipe: no GPU, a VM, a
 * blocklisted driver). There xterm's WebGL renderer parsed a flood (`yes`) at
 * 0.3-0.6 MB/s against 2.2 MB/s for the DOM renderer, so Ctrl-C took seconds to
 * show; keep the DOM renderer then. Browsers that hide the renderer get WebGL.
 */
function softwareWebgl(): boolean {
  try {
    const gl = document.createElement("canvas").getContext("webgl2");
    if (!gl) return false; // the addon fails to load and the DOM renderer stays anyway
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
    gl.getExtension("WEBGL_lose_context")?.loseContext();
    return /swiftshader|llvmpipe|softpipe|software|basic render/i.test(renderer);
  } catch {
    return false;
  }
}

const isMac = () => typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform);

export function TerminalView({
  workspaceId,
  tabId,
  targetId,
  sessionId,
  active,
  targetLive = true,
  onSession,
  onStatus,
  onRestart,
}: {
  workspaceId: string;
  tabId: string;
  targetId: string;
  sessionId: string | null;
  active: boolean;
  /** Whether the tab's target runs now: a session ended by "compute stopped" is restarted only once it is back. */
  targetLive?: boolean;
  onSession(sessionId: string): void;
  onStatus(status: ConnectionStatus): void;
  /** Replace this tab's ended session with a new one. */
  onRestart(): void;
}) {
  const host = useRef<HTMLDivElement>(null);
  const termRef = useRef<Terminal | null>(null);
  const connRef = useRef<TerminalConnection | null>(null);
  const searchRef = useRef<SearchAddon | null>(null);
  const searchInput = useRef<HTMLInputElement>(null);
  const [status, setStatus] = useState<ConnectionStatus>({ kind: "connecting" });
  const [idleWarning, setIdleWarning] = useState<string | null>(null);
  const [searchOpen, setSearchOpen] = useState(false);
  const [query, setQuery] = useState("");
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
  const callbacks = useRef({ onSession, onStatus });
  callbacks.current = { onSession, onStatus };

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const term = new Terminal({
      cursorBlink: true,
      allowProposedApi: true, // unicode11
      scrollback: 5000,
      fontFamily: 'ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace',
      fontSize: 14,
      // At 1x the underscore sits below the cell of a 1.0 line height and was cut
      // off ("x86_64" read "x86 64"); a little more height keeps it in the cell.
      lineHeight: 1.2,
      theme: { background: "#0b0e14", foreground: "#d6deeb", cursor: "#7fdbca", selectionBackground: "#264f78" },
    });
    const fit = new FitAddon();
    const search = new SearchAddon();
    term.loadAddon(fit);
    term.loadAddon(search);
    term.loadAddon(new WebLinksAddon((_ev, uri) => window.open(uri, "_blank", "noopener,noreferrer")));
    term.loadAddon(new Unicode11Addon());
    term.unicode.activeVersion = "11";
    term.open(el);
    if (!softwareWebgl()) {
      try {
        const webgl = new WebglAddon();
        // On context loss the DOM renderer takes over again.
        webgl.onContextLoss(() => webgl.dispose());
        term.loadAddon(webgl);
      } catch {
        // No WebGL2 here: the DOM renderer is already in place.
      }
    }
    termRef.current = term;
    searchRef.current = search;

    // While replayed output is parsed, xterm would answer the queries in it (cursor
    // position, device attributes) as if they were new, typing garbage into the shell.
    let replaying = 0;
    const conn = new TerminalConnection({
      workspaceId,
      targetId,
      sessionId,
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
          callbacks.current.onStatus(s);
        },
        idleWarning: setIdleWarning,
        session: (id) => callbacks.current.onSession(id),
      },
    });
    connRef.current = conn;

    term.onData((data) => {
      if (replaying > 0 && QUERY_REPLY.test(data)) return;
      setIdleWarning(null);
      conn.input(withModifiers(data));
    });
    term.onBinary((data) => conn.input(Uint8Array.from(data, (c) => c.charCodeAt(0))));
    term.onSelectionChange(() => {
      const sel = term.getSelection();
      if (sel) void copyText(sel).catch(() => undefined); // copy on select
    });
    term.attachCustomKeyEventHandler((ev) => {
      if (ev.type !== "keydown") return true;
      const mod = isMac() ? ev.metaKey : ev.ctrlKey;
      const key = ev.key.toLowerCase();
      if (mod && ev.shiftKey && key === "c") {
        const sel = term.getSelection();
        if (sel) void copyText(sel).catch(() => undefined);
        return false;
      }
      if (mod && ev.shiftKey && key === "v") {
        // Chromium's own Ctrl+Shift+V ("paste as plain text") would also fire a paste
        // event on xterm's textarea: without this, every paste arrived twice.
        ev.preventDefault();
        void navigator.clipboard
          ?.readText()
          .then((text) => term.paste(text))
          .catch(() => undefined);
        return false;
      }
      // Cmd+F on macOS; Ctrl+Shift+F elsewhere, because a bare Ctrl+F belongs to the
      // shell (readline's forward-char, less and vim's page-down).
      if (key === "f" && ((isMac() && ev.metaKey && !ev.shiftKey) || (!isMac() && ev.ctrlKey && ev.shiftKey))) {
        ev.preventDefault();
        setSearchOpen(true);
        setTimeout(() => searchInput.current?.select(), 0);
        return false;
      }
      return true;
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

    const hooks = (window.__meshia ??= { terminals: {} });
    hooks.terminals[tabId] = { term, connection: conn };

    return () => {
      observer.disconnect();
      if (resizeTimer) clearTimeout(resizeTimer);
      delete hooks.terminals[tabId];
      conn.dispose();
      term.dispose();
      termRef.current = null;
      connRef.current = null;
    };
    // The session is bound to this tab for the component's life; sessionId is only its starting point.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [workspaceId, tabId, targetId]);

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

  const findNext = (backwards = false) => {
    if (!query) return;
    if (backwards) searchRef.current?.findPrevious(query);
    else searchRef.current?.findNext(query);
  };

  return (
    <div className="terminal-view" hidden={!active} data-tab={tabId}>
      <StatusBar status={status} now={now} targetLive={targetLive} onRetry={() => connRef.current?.retryNow()} onRestart={onRestart} />
      {idleWarning && (
        <div className="banner warning" role="status">
          {idleWarning}
        </div>
      )}
      {searchOpen && (
        <TerminalSearch
          inputRef={searchInput}
          query={query}
          onQuery={setQuery}
          onFind={findNext}
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
          onPaste={() =>
            void navigator.clipboard
              ?.readText()
              .then((text) => termRef.current?.paste(text))
              .catch(() => undefined)
          }
          screenText={() => (termRef.current ? recentText(termRef.current) : "")}
        />
      )}
    </div>
  );
}
