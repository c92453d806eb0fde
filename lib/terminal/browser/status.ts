// What a terminal tab's connection is doing, as the status bar and the tab's dot show it.

export type ConnectionStatus =
  | { kind: "connecting"; detail?: string }
  | { kind: "live" }
  | { kind: "reconnecting"; attempt: number; retryAt: number; reason: string }
  | { kind: "ended"; exitCode: number | null; signal: string | null; detail?: string }
  | { kind: "expired"; detail?: string }
  | { kind: "compute-stopped"; detail?: string }
  | { kind: "failed"; detail: string }
  /** Over a per-person cap (open sessions, unused tickets): the server's message, and when trying again may work. */
  | { kind: "limited"; detail: string; retryAt: number };

/** States the connection never leaves by itself. */
export const FINAL: ReadonlySet<ConnectionStatus["kind"]> = new Set(["ended", "expired", "compute-stopped", "failed"]);
