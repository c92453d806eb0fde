// Input to a pty program, written to the pty's master by us rather than by node-pty.
//
// node-pty queues every write, without limit, and when the pty is full (the program
// does not read: `sleep 600` under a paste) retries it on every event-loop turn:
// this process spun a core at 100% for as long as the program did not read. Node
// cannot wait for a descriptor to become writable (no poll(2); tty.WriteStream makes
// writes blocking), so a full pty is retried on a timer that backs off from 1 ms to
// RETRY_MAX_MS: a few syscalls a second while blocked, full speed again as soon as a
// write goes through. Writes are synchronous on the non-blocking master (a copy into
// the kernel's buffer, microseconds), so none is in flight when node-pty closes it.
//
// Backpressure: above PAUSE_BYTES waiting the SSH channel is paused (ssh2 then stops
// topping up the client's window, and the client stops sending) until it is below
// RESUME_BYTES.
import { writeSync } from "node:fs";
import type { IPty } from "node-pty";
import { ptyMaster, type PtyMaster } from "./node-pty-internals";

/** Input waiting for the pty above which the channel stops taking more... */
export const PAUSE_BYTES = 128 * 1024;
/** ...and below which it takes input again. */
export const RESUME_BYTES = 32 * 1024;
const RETRY_MIN_MS = 1;
const RETRY_MAX_MS = 50;

/** Where the input comes from: paused while too much waits. */
export interface InputSource {
  pause(): void;
  resume(): void;
}

export interface PtyInput {
  write(data: Buffer): void;
  /** Drops what is waiting and writes nothing more (the session or the program ended). */
  close(): void;
}

/** The pty's input: ours (bounded, backing off) when node-pty's master is reachable; node-pty's own write otherwise (unbounded, busy retry). */
export function ptyInput(proc: IPty, source: InputSource): PtyInput {
  const master = ptyMaster(proc);
  if (master) return new MasterInput(master, source);
  return {
    write: (data) => proc.write(data),
    close: () => undefined,
  };
}

class MasterInput implements PtyInput {
  /** Chunks as they came; the first may be partly written. Channel data buffers are not reused by ssh2 (a paused stream holds them too). */
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | null = null;
  private retryMs = RETRY_MIN_MS;
  private paused = false;
  private closed = false;

  constructor(
    private readonly master: PtyMaster,
    private readonly source: InputSource,
  ) {}

  write(data: Buffer): void {
    if (this.closed || data.length === 0) return;
    this.queue.push(data);
    this.queued += data.length;
    if (!this.timer) this.flush();
    if (!this.paused && this.queued > PAUSE_BYTES) {
      this.paused = true;
      this.source.pause();
    }
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.queued = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly flush = (): void => {
    this.timer = null;
    while (this.queue.length > 0) {
      if (!this.master.open()) return this.close();
      const head = this.queue[0]!;
      let n: number;
      try {
        n = writeSync(this.master.fd, head);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EAGAIN") return this.close(); // EIO and the like: the pty is gone
        this.timer = setTimeout(this.flush, this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
        return;
      }
      this.retryMs = RETRY_MIN_MS;
      this.queued -= n;
      if (n < head.length) this.queue[0] = head.subarray(n);
      else this.queue.shift();
      if (this.paused && this.queued <= RESUME_BYTES) {
        this.paused = false;
        this.source.resume();
      }
    }
  };
}
