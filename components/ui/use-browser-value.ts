"use client";
// Values only the browser knows (localStorage, navigator, its abilities), read during
// render: the server and hydration render `serverValue`, then the browser's own value.
// A write in this tab calls `browserValuesChanged()`; other tabs' writes arrive as
// storage events. `read` must return a primitive (or the same object) each time.
import { useSyncExternalStore } from "react";

const listeners = new Set<() => void>();

function subscribe(onChange: () => void): () => void {
  listeners.add(onChange);
  window.addEventListener("storage", onChange);
  return () => {
    listeners.delete(onChange);
    window.removeEventListener("storage", onChange);
  };
}

export function browserValuesChanged(): void {
  for (const l of listeners) l();
}

export function useBrowserValue<T>(read: () => T, serverValue: T): T {
  return useSyncExternalStore(subscribe, read, () => serverValue);
}

/** False on the server and during hydration, true after. */
export function useHydrated(): boolean {
  return useBrowserValue(() => true, false);
}
