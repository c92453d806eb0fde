// The seam between a terminal session and the world: how it opens its shell, learns
// whether the target is live, and reports what happened. The real wiring is
// bridged-session.ts; tests pass a real bridge or a scripted channel.
import type { Client, ClientChannel } from "ssh2";
import type { Logger } from "@/lib/log";
import type { BridgeFailure, ReceiveWindow } from "@/lib/ssh/bridge";

export interface ShellConnection {
  client: Client;
  channel: ClientChannel;
  /**
   * The channel's SSH receive window, when the bridge controls it. Without it,
   * flow control can only pause the stream, and ssh2 keeps accepting (and
   * buffering) up to its own 2 MiB window behind the pause.
   */
  window?: ReceiveWindow;
}

export interface SessionEnd {
  state: "ended" | "compute-stopped";
  exitCode: number | null;
  exitSignal: string | null;
  reason: string;
  bytesIn: number;
  bytesOut: number;
}

export interface SessionDeps {
  log: Logger;
  resumeBufferBytes: number;
  /** The hard cap on buffered input (default DEFAULT_INPUT_CAP in input.ts). */
  inputCapBytes?: number;
  graceMs: number;
  idleTimeoutMs: number;
  /** Opens the SSH shell at the given size. */
  connect(size: { cols: number; rows: number }): Promise<ShellConnection>;
  /** Whether the target still counts as live: tells "compute stopped" from other losses. */
  targetIsLive(): Promise<boolean>;
  onOpened?(): void;
  /** The shell could not be opened (the reason is for the log and audit, never the user). */
  onConnectFailed?(reason: BridgeFailure | "internal", detail: string): void;
  onEnded?(end: SessionEnd): void;
  /** The session is gone for good (registry removal). */
  onDisposed(): void;
}
