"use client";
// The terminal's search bar (Ctrl+Shift+F / ⌘F): find next and previous in the scrollback.
import { useState, type RefObject } from "react";

export function SearchBar({
  inputRef,
  onFind,
  onClose,
}: {
  inputRef: RefObject<HTMLInputElement | null>;
  onFind(query: string, backwards: boolean): void;
  onClose(): void;
}) {
  const [query, setQuery] = useState("");
  const find = (backwards = false) => {
    if (query) onFind(query, backwards);
  };
  return (
    <form
      className="search-bar"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        find();
      }}
    >
      <input
        ref={inputRef}
        aria-label="Search the terminal"
        placeholder="Search"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Escape") onClose();
          else if (e.key === "Enter" && e.shiftKey) {
            e.preventDefault();
            find(true);
          }
        }}
      />
      <button type="button" className="button small" onClick={() => find(true)} aria-label="Previous match">
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
