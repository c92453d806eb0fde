"use client";
// The key bar under the terminal on touch devices: Esc, Tab, sticky Ctrl and Alt,
// arrows, | ~ /, paste, and a select mode where the screen's text can be selected
// and copied with the phone's own selection handles (xterm's canvas has none).
import { useState } from "react";
import type { BarKey, Modifiers } from "@/lib/terminal/browser/touch-keys";
import { copyText } from "@/components/ui/use-copy";

const KEYS: { key: BarKey; label: string; name: string }[] = [
  { key: "esc", label: "Esc", name: "Escape" },
  { key: "tab", label: "Tab", name: "Tab" },
  { key: "left", label: "←", name: "Left arrow" },
  { key: "down", label: "↓", name: "Down arrow" },
  { key: "up", label: "↑", name: "Up arrow" },
  { key: "right", label: "→", name: "Right arrow" },
  { key: "pipe", label: "|", name: "Pipe" },
  { key: "tilde", label: "~", name: "Tilde" },
  { key: "slash", label: "/", name: "Slash" },
];

export function TouchKeyBar({
  mods,
  onToggle,
  onKey,
  onPaste,
  screenText,
}: {
  mods: Modifiers;
  onToggle(mod: keyof Modifiers): void;
  onKey(key: BarKey): void;
  onPaste(): void;
  /** The text of the terminal's screen and recent scrollback, for select mode. */
  screenText(): string;
}) {
  const [selecting, setSelecting] = useState<string | null>(null);
  // Keep the terminal's focus (and the phone keyboard) when a bar key is tapped.
  const keep = (e: React.PointerEvent | React.MouseEvent) => e.preventDefault();
  return (
    <>
      {selecting !== null && (
        <div className="touch-select" role="region" aria-label="Select text">
          <div className="touch-select-bar">
            <span className="muted small">Select text, then copy it.</span>
            <button type="button" className="button small" onClick={() => void copyText(selecting).catch(() => undefined)}>
              Copy all
            </button>
            <button type="button" className="button small" onClick={() => setSelecting(null)}>
              Done
            </button>
          </div>
          <pre data-testid="touch-select-text">{selecting}</pre>
        </div>
      )}
      <div className="touch-key-bar" role="toolbar" aria-label="Terminal keys">
        {KEYS.slice(0, 2).map((k) => (
          <button key={k.key} type="button" aria-label={k.name} onPointerDown={keep} onMouseDown={keep} onClick={() => onKey(k.key)}>
            {k.label}
          </button>
        ))}
        {(["ctrl", "alt"] as const).map((m) => (
          <button key={m} type="button" aria-pressed={mods[m]} className="modifier" onPointerDown={keep} onMouseDown={keep} onClick={() => onToggle(m)}>
            {m === "ctrl" ? "Ctrl" : "Alt"}
          </button>
        ))}
        {KEYS.slice(2).map((k) => (
          <button key={k.key} type="button" aria-label={k.name} onPointerDown={keep} onMouseDown={keep} onClick={() => onKey(k.key)}>
            {k.label}
          </button>
        ))}
        <button type="button" onPointerDown={keep} onMouseDown={keep} onClick={onPaste}>
          Paste
        </button>
        <button type="button" onClick={() => setSelecting(screenText())}>
          Select
        </button>
      </div>
    </>
  );
}
