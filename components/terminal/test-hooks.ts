// For the browser tests only: they read xterm's buffer and the session id of each
// tab through `window.__meshiaTest`. Nothing in the app reads it, and only a build
// made with NEXT_PUBLIC_MESHIA_TEST_HOOKS=1 (the test command's) has it: Next
// inlines the variable, so a production build drops the hook altogether.
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

/** Exposes a tab's terminal to the tests (in a test build); returns the undo. */
export function exposeForTests(tabId: string, handle: TerminalTestHandle): () => void {
  if (process.env.NEXT_PUBLIC_MESHIA_TEST_HOOKS !== "1") return () => {};
  const hooks = (window.__meshiaTest ??= { terminals: {} });
  hooks.terminals[tabId] = handle;
  return () => {
    if (hooks.terminals[tabId] === handle) delete hooks.terminals[tabId];
  };
}
