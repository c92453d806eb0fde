// Every reach into node-pty's private fields, in one place. node-pty (1.1) exposes
// no pty name on its typed interface, no input queue size and no drain event, and
// destroys its read stream on its own schedule; each helper here says what it
// needs and degrades to "as without it" when the field is missing (another
// node-pty version).
import type { IPty } from "node-pty";

interface Internals {
  /** The slave's path (/dev/pts/N). */
  _pty?: string;
  /** The master's read stream. */
  _socket?: { destroy(err?: Error): unknown };
  /** Input not yet written to the pty, as `{ buffer, offset }` tasks. */
  _writeStream?: { _writeQueue?: { buffer: Buffer; offset: number }[] };
}

const internals = (proc: IPty) => proc as unknown as Internals;

/** The pty's slave device path, or undefined. */
export function ptsNameOf(proc: IPty): string | undefined {
  return internals(proc)._pty;
}

/** node-pty's queue of input waiting for the pty, which it keeps without limit. */
export interface PtyInputQueue {
  /** Bytes waiting. */
  bytes(): number;
  /** Drops what is waiting (nobody will read it). */
  clear(): void;
}

/** The pty's input queue, or null when this node-pty keeps it elsewhere (input is then unbounded). */
export function ptyInputQueue(proc: IPty): PtyInputQueue | null {
  const queue = internals(proc)._writeStream?._writeQueue;
  if (!queue) return null;
  return {
    bytes() {
      let n = 0;
      for (const t of queue) n += t.buffer.length - t.offset;
      return n;
    },
    clear() {
      queue.splice(0);
    },
  };
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
