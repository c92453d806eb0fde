"use client";
// The terminal's status line: connecting, live, reconnecting (with a countdown and
// Retry now), ended, expired, compute stopped, failed, limited (a cap was hit: Try again
// once the server's Retry-After has passed).
import type { ConnectionStatus } from "@/lib/terminal/browser/status";
import { secondsUntil, statusText } from "./status-text";

export function StatusBar({
  status,
  now,
  targetLive,
  onRetry,
  onRestart,
}: {
  status: ConnectionStatus;
  now: number;
  targetLive: boolean;
  onRetry(): void;
  onRestart(): void;
}) {
  const { text, tone } = statusText(status, now);
  const limitedFor = status.kind === "limited" ? secondsUntil(status.retryAt, now) : 0;
  return (
    <div className={`status-bar ${tone}`} role="status" aria-live="polite" data-testid="terminal-status" data-state={status.kind}>
      <span className="dot" aria-hidden="true" />
      <span>{text}</span>
      {status.kind === "reconnecting" && (
        <button type="button" className="link-button" onClick={onRetry}>
          Retry now
        </button>
      )}
      {status.kind === "limited" && (
        <button type="button" className="link-button" onClick={onRetry} data-testid="terminal-try-again">
          {limitedFor > 0 ? `Try again (in ${limitedFor} s)` : "Try again"}
        </button>
      )}
      {status.kind === "compute-stopped" && !targetLive && <span className="muted">Waiting for the target to start again…</span>}
      {(status.kind === "ended" || status.kind === "expired" || status.kind === "failed" || (status.kind === "compute-stopped" && targetLive)) && (
        <button type="button" className="link-button" onClick={onRestart}>
          Start a new session
        </button>
      )}
    </div>
  );
}
