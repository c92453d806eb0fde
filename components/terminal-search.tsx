"use client";
// The terminal's search bar (Ctrl+Shift+F / ⌘F): find next and previous in the scrollback.
import type { RefObject } from "react";

export function TerminalSearch({
  inputRef,
  query,
  onQuery,
  onFind,
  onClose,
}: {
  inputRef: RefObject<HTMLInputElement | null>;
  query: string;
  onQuery(q: string): void;
  onFind(backwards?: boolean): void;
  onClose(): void;
}) {
  return (
    <form
      className="search-bar"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        onFind();
      }}
    >
      <input
        ref={inputRef}
        aria-label="Search the terminal"
        placeholder="Search"
        value={query}
        onChange={(e) => onQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Escape") onClose();
          else if (e.key === "Enter" && e.shiftKey) {
            e.preventDefault();
            onFind(true);
          }
        }}
      />
      <button type="button" className="button small" onClick={() => onFind(true)} aria-label="Previous match">
        ↑
      </button>
      <button type="submit" className="button small" aria-label="Next match">
        ↓
      </button>
      <button type="button" className="button small" aria-label="Close search" onClick={onClose}>
        ✕
      </button>
    </form>
  );
}
