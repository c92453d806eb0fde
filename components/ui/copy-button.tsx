"use client";
import { useCopy } from "@/components/ui/use-copy";

export function CopyButton({ text, label = "Copy", className = "button", onCopy }: { text: string; label?: string; className?: string; onCopy?(): void }) {
  const { copy, copied, failed } = useCopy();
  return (
    <button
      type="button"
      className={className}
      onClick={() => {
        onCopy?.();
        void copy(text);
      }}
      aria-label={label}
    >
      {copied ? "Copied" : failed ? "Copy failed" : label}
      <span className="visually-hidden" aria-live="polite">
        {copied ? "Copied to the clipboard" : ""}
      </span>
    </button>
  );
}
