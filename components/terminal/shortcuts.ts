// The terminal's own shortcuts: copy on select, Ctrl+Shift+C / V (Cmd on macOS) to
// copy and paste, and Ctrl+Shift+F / Cmd+F to search. Every other key goes to the shell.
import type { Terminal } from "@xterm/xterm";
import { copyText } from "@/components/ui/use-copy";

const isMac = () => typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform);

/** Pastes the clipboard's text into the terminal (as typed input, bracketed when the shell asks). */
export function pasteClipboard(term: Terminal | null): void {
  void navigator.clipboard
    ?.readText()
    .then((text) => term?.paste(text))
    .catch(() => undefined);
}

export function attachShortcuts(term: Terminal, openSearch: () => void): void {
  const copySelection = () => {
    const sel = term.getSelection();
    if (sel) void copyText(sel).catch(() => undefined);
  };
  term.onSelectionChange(copySelection);
  term.attachCustomKeyEventHandler((ev) => {
    if (ev.type !== "keydown") return true;
    const mac = isMac();
    const mod = mac ? ev.metaKey : ev.ctrlKey;
    const key = ev.key.toLowerCase();
    if (mod && ev.shiftKey && key === "c") {
      copySelection();
      return false;
    }
    if (mod && ev.shiftKey && key === "v") {
      // Chromium's own Ctrl+Shift+V ("paste as plain text") would also fire a paste
      // event on xterm's textarea: without this, every paste arrived twice.
      ev.preventDefault();
      pasteClipboard(term);
      return false;
    }
    // Cmd+F on macOS; Ctrl+Shift+F elsewhere, because a bare Ctrl+F belongs to the
    // shell (readline's forward-char, less and vim's page-down).
    if (key === "f" && ((mac && ev.metaKey && !ev.shiftKey) || (!mac && ev.ctrlKey && ev.shiftKey))) {
      ev.preventDefault();
      openSearch();
      return false;
    }
    return true;
  });
}
