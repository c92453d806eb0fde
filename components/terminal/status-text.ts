// What the status bar says for a connection status, at time `now` (countdowns).
import type { ConnectionStatus } from "@/lib/terminal/browser/status";

export type StatusTone = "neutral" | "ok" | "warn" | "error";

/** Whole seconds from `now` until `at`, never negative. */
export function secondsUntil(at: number, now: number): number {
  return Math.max(0, Math.ceil((at - now) / 1000));
}

export function statusText(status: ConnectionStatus, now: number): { text: string; tone: StatusTone } {
  switch (status.kind) {
    case "connecting":
      return { text: status.detail ?? "Connecting…", tone: "neutral" };
    case "live":
      return { text: "Live", tone: "ok" };
    case "reconnecting":
      return { text: `Reconnecting (attempt ${status.attempt}) in ${secondsUntil(status.retryAt, now)} s — ${status.reason}`, tone: "warn" };
    case "ended": {
      const text =
        status.exitCode !== null
          ? `Session ended with exit code ${status.exitCode}`
          : status.signal
            ? `Session ended by signal ${status.signal}`
            : (status.detail ?? "Session ended");
      return { text, tone: "neutral" };
    }
    case "expired":
      return { text: status.detail ?? "This session expired.", tone: "warn" };
    case "compute-stopped":
      return { text: status.detail ?? "The compute target stopped.", tone: "error" };
    case "failed":
      return { text: status.detail, tone: "error" };
    case "limited":
      return { text: status.detail, tone: "warn" };
  }
}
