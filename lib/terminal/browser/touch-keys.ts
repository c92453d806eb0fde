// What the touch key bar sends: keys a phone keyboard lacks (Esc, Tab, arrows) and
// the sticky Ctrl and Alt, applied to the next key as a terminal would send it.
// Framework-free, shared by the key bar and the terminal's input handler.

export interface Modifiers {
  ctrl: boolean;
  alt: boolean;
}

export type BarKey = "esc" | "tab" | "up" | "down" | "left" | "right" | "pipe" | "tilde" | "slash";

/** Arrow keys follow the terminal's cursor-key mode (DECCKM): vim and less turn on "application" mode. */
export function barKeySequence(key: BarKey, applicationCursor: boolean): string {
  const csi = applicationCursor ? "\x1bO" : "\x1b[";
  switch (key) {
    case "esc":
      return "\x1b";
    case "tab":
      return "\t";
    case "up":
      return `${csi}A`;
    case "down":
      return `${csi}B`;
    case "right":
      return `${csi}C`;
    case "left":
      return `${csi}D`;
    case "pipe":
      return "|";
    case "tilde":
      return "~";
    case "slash":
      return "/";
  }
}

/** Ctrl of one character, as a terminal sends it (Ctrl-C is 0x03, Ctrl-[ is ESC, Ctrl-Space NUL). */
function ctrlOf(ch: string): string {
  const c = ch.toUpperCase().charCodeAt(0);
  if (c >= 0x40 && c <= 0x5f) return String.fromCharCode(c - 0x40);
  if (ch === " " || ch === "2" || ch === "@") return "\x00";
  if (ch === "?") return "\x7f";
  return ch;
}

/**
 * Applies sticky modifiers to what the terminal would send. Only a single
 * character is modified (a pasted or predicted word goes as typed); Alt is ESC
 * before the key, as xterm's default "meta sends escape".
 */
export function applyModifiers(data: string, mods: Modifiers): string {
  if (!mods.ctrl && !mods.alt) return data;
  let out = data;
  if (mods.ctrl && [...data].length === 1) out = ctrlOf(data);
  if (mods.alt) out = `\x1b${out}`;
  return out;
}
