"use client";
// The connect command for each kind of terminal people have, as tabs; the one of
// this browser's platform is selected first.
import { useRef } from "react";
import { CLIENT_OSES, type ClientOs } from "@/lib/connect/commands";
import { CopyButton } from "@/components/ui/copy-button";

export function OsTabs({ os, onChange, label }: { os: ClientOs; onChange(os: ClientOs): void; label: string }) {
  const refs = useRef<Record<string, HTMLButtonElement | null>>({});
  // Arrow keys move between tabs, as a tablist should.
  const onKey = (e: React.KeyboardEvent, i: number) => {
    const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    const next = CLIENT_OSES[(i + step + CLIENT_OSES.length) % CLIENT_OSES.length]!;
    onChange(next.id);
    refs.current[next.id]?.focus();
  };
  return (
    <div role="tablist" aria-label={label} className="os-tabs">
      {CLIENT_OSES.map((o, i) => (
        <button
          key={o.id}
          ref={(el) => {
            refs.current[o.id] = el;
          }}
          type="button"
          role="tab"
          id={`os-tab-${o.id}`}
          aria-selected={os === o.id}
          aria-controls="os-panel"
          tabIndex={os === o.id ? 0 : -1}
          className="os-tab"
          onClick={() => onChange(o.id)}
          onKeyDown={(e) => onKey(e, i)}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}

const HINTS: Record<ClientOs, string> = {
  unix: "In Terminal (macOS) or your shell (Linux).",
  powershell: "In PowerShell. icacls leaves only you able to read the key; ssh refuses a key others can read.",
  wsl: "In your WSL shell. The key is copied into ~/.ssh first: chmod does not stick on /mnt/c.",
};

export function OsCommand({
  os,
  command,
  canCopy,
  copyLabel = "Copy command",
  testId = "ssh-command",
}: {
  os: ClientOs;
  command: string;
  canCopy: boolean;
  copyLabel?: string;
  testId?: string;
}) {
  return (
    <div role="tabpanel" id="os-panel" aria-labelledby={`os-tab-${os}`} className="os-panel">
      <p className="muted small">{HINTS[os]}</p>
      <div className="command">
        <code data-testid={testId}>{command}</code>
        {canCopy && <CopyButton text={command} label={copyLabel} />}
      </div>
    </div>
  );
}
