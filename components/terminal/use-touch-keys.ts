"use client";
// Touch devices: whether to show the key bar, and its sticky Ctrl/Alt, which apply
// to the next key (typed or tapped) and then release.
import type { Terminal } from "@xterm/xterm";
import { useCallback, useRef, useState, useSyncExternalStore } from "react";
import { applyModifiers, type Modifiers } from "@/lib/terminal/browser/touch-keys";

const NONE: Modifiers = { ctrl: false, alt: false };
const COARSE = "(pointer: coarse)";

function subscribeCoarse(onChange: () => void): () => void {
  const mq = window.matchMedia(COARSE);
  mq.addEventListener("change", onChange);
  return () => mq.removeEventListener("change", onChange);
}

export function useTouchKeys() {
  // Server rendering knows no pointer: no key bar until the browser says so.
  const touch = useSyncExternalStore(
    subscribeCoarse,
    () => window.matchMedia(COARSE).matches,
    () => false,
  );
  const [mods, setMods] = useState<Modifiers>(NONE);
  const modsRef = useRef(mods);

  const toggle = useCallback((m: keyof Modifiers) => {
    modsRef.current = { ...modsRef.current, [m]: !modsRef.current[m] };
    setMods(modsRef.current);
  }, []);

  /** `data` with the sticky modifiers applied; releases them. Stable, so the terminal effect can hold it. */
  const withModifiers = useCallback((data: string): string => {
    const m = modsRef.current;
    if (!m.ctrl && !m.alt) return data;
    modsRef.current = NONE;
    setMods(NONE);
    return applyModifiers(data, m);
  }, []);

  return { touch, mods, toggle, withModifiers };
}

/** The last lines of the terminal (screen and recent scrollback), for select mode. */
export function recentText(term: Terminal, lines = 200): string {
  const buf = term.buffer.active;
  const out: string[] = [];
  for (let i = Math.max(0, buf.length - lines); i < buf.length; i++) out.push(buf.getLine(i)?.translateToString(true) ?? "");
  return out.join("\n").replace(/\s+$/, "");
}
