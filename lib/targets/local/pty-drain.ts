// Draining a pty before its program's exit is reported.
//
// When a program on a pty exits while its output is still on the way (`ssh -t host
// 'seq 1 2000'`), the master's read fails with EIO before everything is read: the
// last close of the slave races the kernel moving output into the master's read
// buffer, and node-pty reports the exit with the tail lost (seen: 4 KiB of 11 KiB
// in most runs on a busy machine; node-pty alone does it). So we hold the slave
// open ourselves: while we do, reads simply wait for output in flight. Once the
// program has exited (SIGCHLD, then its /proc entry is gone or a zombie) and no
// output has come for a moment, we let go: the master reads nothing more, gets EIO,
// and node-pty reports the exit after every byte.
import { closeSync, constants as fsConstants, openSync, readFileSync } from "node:fs";
import type { IPty } from "node-pty";
import { holdReadStream, ptsNameOf } from "./node-pty-internals";

/** No output for this long after the exit (and a poll for I/O since): everything the program wrote has been read. */
const DRAIN_QUIET_MS = 50;
const waitingForExit = new Map<number, () => void>();
let sigchldHooked = false;

function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return true;
  }
}

function onChildExited(): void {
  for (const [pid, exited] of waitingForExit) {
    if (!gone(pid)) continue;
    waitingForExit.delete(pid);
    exited();
  }
}

/**
 * Holds the pty's slave open; calls `exited` once the program `pid` has exited.
 * Returns the release (closes our slave descriptor), for every exit path; null when
 * the slave could not be held.
 */
function holdSlave(ptsName: string | undefined, pid: number, exited: () => void): (() => void) | null {
  if (!ptsName) return null;
  let fd: number | null;
  try {
    fd = openSync(ptsName, fsConstants.O_RDWR | fsConstants.O_NOCTTY);
  } catch {
    return null; // not ours to open: node-pty's own exit handling
  }
  const release = () => {
    waitingForExit.delete(pid);
    if (fd === null) return;
    closeSync(fd);
    fd = null;
  };
  waitingForExit.set(pid, exited);
  if (!sigchldHooked) {
    sigchldHooked = true;
    process.on("SIGCHLD", onChildExited);
  }
  if (gone(pid)) onChildExited(); // it exited before we looked
  return release;
}

export class PtyDrain {
  private lastOutput = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private released = false;
  private readonly releaseSlave: (() => void) | null;
  /** While we hold the slave, node-pty's destroy of its read stream (on its own timer after the exit) waits too. */
  private readonly readStream: { release(): void } | null;

  /** `paused`: the pty is not being read (output waits for the SSH window); `exited`: node-pty reported the exit. */
  constructor(
    proc: IPty,
    private readonly paused: () => boolean,
    private readonly exited: () => boolean,
  ) {
    this.releaseSlave = holdSlave(ptsNameOf(proc), proc.pid, () => {
      this.timer ??= setTimeout(this.drained, DRAIN_QUIET_MS);
    });
    this.readStream = this.releaseSlave ? holdReadStream(proc) : null;
  }

  /** Output was read from the pty. */
  output(): void {
    this.lastOutput = Date.now();
  }

  /** Lets go of the slave (idempotent; on every exit path). */
  release(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.released) return;
    this.released = true;
    this.releaseSlave?.();
    this.readStream?.release();
  }

  private readonly drained = (): void => {
    this.timer = null;
    const quiet = Date.now() - this.lastOutput;
    if (quiet < DRAIN_QUIET_MS || this.paused()) {
      this.timer = setTimeout(this.drained, Math.max(1, DRAIN_QUIET_MS - quiet));
      return;
    }
    // Timers run before the loop polls for I/O: after a stall, output may be waiting
    // unread. Two turns later a poll has happened; release only if it brought nothing.
    const seen = this.lastOutput;
    setImmediate(() =>
      setImmediate(() => {
        if (this.exited()) return;
        if (this.lastOutput === seen && !this.paused()) this.release();
        else this.timer ??= setTimeout(this.drained, DRAIN_QUIET_MS);
      }),
    );
  };
}
