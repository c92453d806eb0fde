// Signals to the programs of a session and their exit status to its SSH channel.
import os from "node:os";
import type { ServerChannel } from "ssh2";

/** After SIGHUP, how long a session's processes get before SIGKILL. */
const KILL_GRACE_MS = 2000;

/** SIGHUP to the whole process group (each program is a session leader), SIGKILL if it lingers. */
export function hangUpGroup(pid: number | undefined, alive: () => boolean): void {
  if (!pid) return;
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  send("SIGHUP");
  setTimeout(() => alive() && send("SIGKILL"), KILL_GRACE_MS).unref();
}

/** A signal the client asked for (SSH names: INT, TERM, ...), to the program. */
export function sendSignal(pid: number | undefined, name: string): void {
  if (!pid || !/^[A-Z0-9]+$/.test(name) || !(`SIG${name}` in os.constants.signals)) return;
  try {
    process.kill(pid, `SIG${name}` as NodeJS.Signals);
  } catch {
    // gone
  }
}

/** SSH's name for a signal number (HUP, INT, ...), from the platform's table. */
export function signalName(num: number): string {
  const entry = Object.entries(os.constants.signals).find(([, n]) => n === num);
  return entry ? entry[0].replace(/^SIG/, "") : "TERM";
}

/** exit-status (or exit-signal) must precede EOF/close for `ssh` to report it. */
export function reportExit(channel: ServerChannel, exitCode: number, signal: string | undefined): void {
  if (channel.destroyed) return;
  if (signal) channel.exit(signal, false, "");
  else channel.exit(exitCode);
  channel.end();
}
