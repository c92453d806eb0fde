"use client";
// The terminal's status line: connecting, live, reconnecting (with a countdown and
// Retry now), ended, expired, compute stopped, failed, limited (a cap was hit: Try again
// once the server's Retry-After has passed).
import type { ConnectionStatus } from "@/lib/terminal/client-connection";

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
  let text: string;
  let tone = "neutral";
  switch (status.kind) {
    case "connecting":
      text = status.detail ?? "Connecting…";
      break;
    case "live":
      text = "Live";
      tone = "ok";
      break;
    case "reconnecting": {
      const secs = Math.max(0, Math.ceil((status.retryAt - now) / 1000));
      text = `Reconnecting (attempt ${status.attempt}) in ${secs} s — ${status.reason}`;
      tone = "warn";
      break;
    }
    case "ended":
      text =
        status.exitCode !== null
          ? `Session ended with exit code ${status.exitCode}`
          : status.signal
            ? `Session ended by signal ${status.signal}`
            : (status.detail ?? "Session ended");
      break;
    case "expired":
      text = status.detail ?? "This session expired.";
      tone = "warn";
      break;
    case "compute-stopped":
      text = status.detail ?? "The compute target stopped.";
      tone = "error";
      break;
    case "failed":
      text = status.detail;
      tone = "error";
      break;
    case "limited":
      text = status.detail;
      tone = "warn";
      break;
  }
  const limitedFor = status.kind === "limited" ? Math.max(0, Math.ceil((status.retryAt - now) / 1000)) : 0;
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
