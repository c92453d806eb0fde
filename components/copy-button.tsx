"use client";
import { useCopy } from "./use-copy";

export function CopyButton({ text, label = "Copy", className = "button" }: { text: string; label?: string; className?: string }) {
  const { copy, copied, failed } = useCopy();
  return (
    <button type="button" className={className} onClick={() => void copy(text)} aria-label={label}>
      {copied ? "Copied" : failed ? "Copy failed" : label}
      <span className="visually-hidden" aria-live="polite">
        {copied ? "Copied to the clipboard" : ""}
      </span>
    </button>
  );
}
