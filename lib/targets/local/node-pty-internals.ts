// Every reach into node-pty's private fields, in one place. node-pty (1.1) exposes
// no pty name on its typed interface, writes input through a queue that it keeps
// without limit and retries on every event-loop turn while the pty is full, and
// destroys its read stream on its own schedule; each helper here says what it
// needs and degrades to "as without it" when the field is missing (another
// node-pty version).
import { readFileSync } from "node:fs";
import type { IPty } from "node-pty";

interface Internals {
  /** The slave's path (/dev/pts/N). */
  _pty?: string;
  /** The master's descriptor. */
  _fd?: number;
  /** The master's read stream (a tty.ReadStream, which owns `_fd`). */
  _socket?: { destroy(err?: Error): unknown; destroyed?: boolean };
}

const internals = (proc: IPty) => proc as unknown as Internals;

/** The pty's slave device path, or undefined. */
export function ptsNameOf(proc: IPty): string | undefined {
  return internals(proc)._pty;
}

/** The pty's master, for writing input ourselves (see pty-input.ts). */
export interface PtyMaster {
  /** The master's descriptor: non-blocking, shared with node-pty's read stream. */
  fd: number;
  /**
   * False once node-pty's read stream, which owns the descriptor, is destroyed: the
   * number may then name another file. Checked right before every write, on this
   * thread, where the close happens too.
   */
  open(): boolean;
}

const O_NONBLOCK = 0o4000;

/**
 * The pty's master, or null when this node-pty keeps it elsewhere or the descriptor is
 * not non-blocking (a write to a full pty would then block this thread). Linux only
 * (the flags are read from /proc/self/fdinfo); null elsewhere.
 */
export function ptyMaster(proc: IPty): PtyMaster | null {
  const { _fd: fd, _socket: socket } = internals(proc);
  if (typeof fd !== "number" || !socket || typeof socket.destroyed !== "boolean") return null;
  try {
    const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "latin1"))?.[1];
    if (flags === undefined || (parseInt(flags, 8) & O_NONBLOCK) === 0) return null;
  } catch {
    return null;
  }
  return { fd, open: () => !socket.destroyed };
}

/**
 * Once the program has exited, node-pty waits 200 ms for the pty to hang up and then
 * destroys its read stream, unread output and all. This holds that destroy back until
 * `release()`, then lets a deferred one happen 200 ms later (the hang-up, EIO, usually
 * closes the stream first). Null without the private `_socket`.
 */
export function holdReadStream(proc: IPty): { release(): void } | null {
  const socket = internals(proc)._socket;
  const destroy = socket?.destroy;
  if (!socket || !destroy) return null;
  let held = true;
  let deferred = false;
  socket.destroy = function (this: unknown, err?: Error) {
    if (held) {
      deferred = true;
      return socket;
    }
    return destroy.call(socket, err);
  };
  return {
    release() {
      if (!held) return;
      held = false;
      socket.destroy = destroy;
      if (deferred) setTimeout(() => destroy.call(socket), 200).unref();
    },
  };
}
