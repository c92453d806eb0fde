// For the browser tests only: they read xterm's buffer and the session id of each
// tab through `window.__meshiaTest`. Nothing in the app reads it.
import type { Terminal } from "@xterm/xterm";
import type { TerminalConnection } from "@/lib/terminal/browser/client-connection";

export interface TerminalTestHandle {
  term: Terminal;
  connection: TerminalConnection;
}

declare global {
  interface Window {
    __meshiaTest?: { terminals: Record<string, TerminalTestHandle> };
  }
}

/** Exposes a tab's terminal to the tests; returns the undo. */
export function exposeForTests(tabId: string, handle: TerminalTestHandle): () => void {
  const hooks = (window.__meshiaTest ??= { terminals: {} });
  hooks.terminals[tabId] = handle;
  return () => {
    if (hooks.terminals[tabId] === handle) delete hooks.terminals[tabId];
  };
}
