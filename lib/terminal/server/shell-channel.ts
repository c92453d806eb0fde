// Reading a session's SSH shell: its output, how it ended (an exit status, or the
// channel or connection lost without one), and why it could not be opened.
import { BridgeConnectError, type BridgeFailure } from "@/lib/ssh/bridge";
import type { ShellConnection } from "./session-deps";

/**
 * What a user is told when the bridge cannot open the shell, whatever the cause:
 * refused, timed out, wrong host key or credential all read the same, so a target
 * pointed at someone else's address cannot be used as a port scanner. The cause
 * goes to the server log.
 */
export const UNREACHABLE_MESSAGE = "The compute target could not be reached.";
export interface ShellEvents {
  output(chunk: Buffer): void;
  /** The shell exited (the channel closed after its exit status). */
  exited(exitCode: number | null, exitSignal: string | null, reason: string): void;
  /** The channel or the connection went away without an exit status. */
  lost(detail: string): void;
}

export function watchShell({ client, channel }: ShellConnection, on: ShellEvents): void {
  let exit: { code: number | null; signal: string | null } | null = null;
  channel.on("data", (chunk: Buffer) => on.output(chunk));
  channel.stderr.on("data", (chunk: Buffer) => on.output(chunk));
  channel.on("exit", (code: number | null, signal?: string) => {
    exit = { code: typeof code === "number" ? code : null, signal: signal ?? null };
  });
  channel.on("close", () => {
    if (exit) on.exited(exit.code, exit.signal, exitReason(exit));
    else on.lost("The SSH channel closed without an exit status.");
  });
  client.on("error", (err) => on.lost(err.message));
  client.on("close", () => on.lost("The SSH connection closed."));
}

function exitReason(exit: { code: number | null; signal: string | null }): string {
  if (exit.signal) return `The shell was killed by SIG${exit.signal}.`;
  return `The shell exited with code ${exit.code ?? "?"}.`;
}

/** Why the shell could not be opened, for the server log and the audit (never the user). */
export function connectFailure(err: unknown): { reason: BridgeFailure | "internal"; detail: string } {
  if (err instanceof BridgeConnectError) return { reason: err.reason, detail: err.detail };
  return { reason: "internal", detail: err instanceof Error ? err.message : String(err) };
}

/** What a session tells its user when the shell went away without an exit status. */
export async function lostReason(deps: { targetIsLive(): Promise<boolean> }, detail: string): Promise<string> {
  const live = await deps.targetIsLive().catch(() => false);
  return live ? `The connection to the compute target was lost: ${detail}` : "The compute target stopped; this session has ended.";
}
