// The screen a resuming client gets when it missed more output than the ring
// holds: a server-side headless xterm, serialized. It lags behind the live stream,
// fed only with bytes that fall out of the ring, so sessions that never overflow
// the ring never pay for it; a flood that it cannot keep up with is dropped and
// the screen rebuilt from the ring (which then still covers the whole visible screen).
//
// Parsing is background work with a budget: one process-wide scheduler feeds the
// headless terminals a slice at a time, round-robin, and after each slice waits
// nine times as long as the slice took, so screen keeping never takes more than
// ~10% of the event loop, however many sessions flood at once. Bytes wait in our
// own bounded backlog (not in xterm's unbounded write queue) until their turn.
import { performance } from "node:perf_hooks";
import headlessPkg from "@xterm/headless";
import serializePkg from "@xterm/addon-serialize";
import { processGlobal } from "@/lib/global";
import { ByteQueue } from "@/lib/util/byte-queue";
import type { OutputRing } from "./output-ring";

// Both packages are CommonJS: named ESM imports fail under Node/tsx.
const { Terminal } = headlessPkg;
const { SerializeAddon } = serializePkg;

const SCROLLBACK = 500;
/** Evicted bytes waiting to be parsed beyond this are dropped (see above). */
export const MAX_BACKLOG = 4 * 1024 * 1024;
/**
 * Bytes handed to a headless terminal per turn of the scheduler. xterm parses what
 * it is given in one go (up to ~12 ms per call): at 32 KiB a slice held the event
 * loop for several ms, which a keystroke's echo arriving meanwhile waited out (echo
 * p99 5–8 ms through the bridge after a flood, 1–1.6 ms direct). 4 KiB parses in well
 * under a millisecond; the 10% budget is unchanged.
 */
const SLICE = 4 * 1024;
/** Idle time after a slice, as a multiple of the time the slice took: 9 → at most 10% busy. */
const IDLE_FACTOR = 9;
const MIN_GAP_MS = 2;
/** A slice delayed by one long blocking task must not stall screen keeping for long. */
const MAX_GAP_MS = 250;
/**
 * A backlog above this that is still growing is a flood: its bytes will very likely
 * be dropped at MAX_BACKLOG before they could be parsed (a slice at 10% of the loop
 * parses about 1-2 MiB/s), so parsing them is wasted work; seen in a CPU profile of
 * `cat` of a large file through the bridge. Such a screen waits...
 */
const FLOOD_BACKLOG = 512 * 1024;
/** ...until no output has fallen out of its ring for this long, then catches up. */
const LULL_MS = 100;
/** RIS (full reset), written in order after whatever the terminal has queued. */
const FULL_RESET = "\x1bc";

export class ScreenSnapshot {
  private term: InstanceType<typeof Terminal> | null = null;
  private serializer: InstanceType<typeof SerializeAddon> | null = null;
  private readonly backlog = new ByteQueue<Buffer>();
  /** Offset up to which output has been handed to the headless terminal (or dropped). */
  private fed = 0;
  /** Completion of the slice being parsed, if any (called at most once). */
  private sliceDone: (() => void) | null = null;
  private disposed = false;
  private lastEviction = 0;
  /**
   * The backlog overflowed (MAX_BACKLOG) since the last slice: the screen was reset
   * mid-flood, so what is left of the flood's backlog once it ends is dropped too
   * (see parseSlice).
   */
  private overflowed = false;

  constructor(
    private cols: number,
    private rows: number,
  ) {}

  private ensure(): InstanceType<typeof Terminal> {
    if (!this.term) {
      this.term = new Terminal({ cols: this.cols, rows: this.rows, scrollback: SCROLLBACK, allowProposedApi: true });
      this.serializer = new SerializeAddon();
      this.term.loadAddon(this.serializer);
    }
    return this.term;
  }

  resize(cols: number, rows: number): void {
    this.cols = cols;
    this.rows = rows;
    this.term?.resize(cols, rows);
  }

  /** Evicted bytes not yet parsed. */
  get pendingBytes(): number {
    return this.backlog.size;
  }

  /** A flood is on (see FLOOD_BACKLOG): parsing waits for a lull. */
  get deferred(): boolean {
    const flooding = performance.now() - this.lastEviction < LULL_MS;
    return flooding && (this.overflowed || this.backlog.size > FLOOD_BACKLOG);
  }

  /** Bytes that fell out of the ring, `endOffset` being the ring's new start. */
  evicted(chunks: Buffer[], endOffset: number): void {
    if (this.disposed) return;
    this.lastEviction = performance.now();
    let pos = endOffset;
    for (const c of chunks) pos -= c.length;
    for (const c of chunks) {
      const end = pos + c.length;
      if (end > this.fed) {
        this.backlog.push(pos >= this.fed ? c : c.subarray(this.fed - pos));
      }
      pos = end;
    }
    this.fed = Math.max(this.fed, endOffset);
    if (this.backlog.size > MAX_BACKLOG) {
      // Cannot keep up: forget the past; the ring alone will rebuild the screen.
      this.backlog.clear();
      this.term?.write(FULL_RESET);
      this.overflowed = true;
    }
    scheduler().want(this);
  }

  /** Parses the next slice of the backlog; `done` is called once it is parsed (or the terminal is gone). */
  parseSlice(done: () => void): void {
    if (this.overflowed) {
      // The flood that overflowed is over (`deferred` holds slices back until a lull). The screen was
      // already reset during it, and the ring (which covers far more than the visible
      // screen and scrollback of a flood of lines) rebuilds it; parsing the up to
      // MAX_BACKLOG bytes left from it would cost ~0.25 s of CPU after every large
      // flood (seen in bench:terminal: about 3 ms per MiB of a 64 MiB `cat`), for
      // screen state the reset already lost.
      this.overflowed = false;
      this.backlog.clear();
      this.term?.write(FULL_RESET);
    }
    if (this.disposed || !this.backlog.size) return done();
    const parts = this.backlog.take(SLICE);
    let called = false;
    this.sliceDone = () => {
      if (called) return;
      called = true;
      this.sliceDone = null;
      done();
    };
    const term = this.ensure();
    const finished = this.sliceDone;
    for (let i = 0; i < parts.length; i++) term.write(parts[i]!, i === parts.length - 1 ? finished : undefined);
  }

  /** The current screen: everything fed so far plus the ring's bytes, serialized. */
  async snapshot(ring: OutputRing): Promise<{ seq: number; data: string }> {
    const term = this.ensure();
    const pending = this.backlog.clear();
    this.overflowed = false; // the terminal is brought up to date here: nothing to drop later
    const from = Math.max(this.fed, ring.start);
    const rest = ring.since(from);
    const seq = ring.head;
    this.fed = seq;
    // Written after any slice still in xterm's queue, so the order of bytes holds.
    for (const c of pending) term.write(c);
    for (const c of rest) term.write(c);
    await new Promise<void>((resolve) => term.write("", resolve));
    return { seq, data: this.serializer!.serialize({ scrollback: SCROLLBACK }) };
  }

  dispose(): void {
    this.disposed = true;
    this.term?.dispose();
    this.term = null;
    this.backlog.clear();
    scheduler().forget(this);
    this.sliceDone?.(); // a disposed terminal never calls back
  }
}

/** One budget for the whole process: one slice at a time, sessions served round-robin. */
class ParseScheduler {
  /** Insertion order is the round-robin order. */
  private readonly waiting = new Set<ScreenSnapshot>();
  private busy = false;
  private lull: NodeJS.Timeout | null = null;

  want(s: ScreenSnapshot): void {
    this.waiting.add(s);
    this.next();
  }

  forget(s: ScreenSnapshot): void {
    this.waiting.delete(s);
  }

  private next(): void {
    if (this.busy) return;
    let s: ScreenSnapshot | undefined;
    for (const w of this.waiting) {
      if (!w.deferred) {
        s = w;
        break;
      }
    }
    if (!s) {
      // Every waiting screen is in a flood: look again once one may have stopped.
      if (this.waiting.size && !this.lull) {
        this.lull = setTimeout(() => {
          this.lull = null;
          this.next();
        }, LULL_MS);
        this.lull.unref();
      }
      return;
    }
    this.waiting.delete(s);
    this.busy = true;
    const t0 = performance.now();
    s.parseSlice(() => {
      if (s.pendingBytes > 0) this.waiting.add(s);
      // The time includes waiting for xterm's own write scheduling, so a busy event
      // loop makes this back off further: live traffic comes first.
      const gap = Math.min(MAX_GAP_MS, Math.max(MIN_GAP_MS, (performance.now() - t0) * IDLE_FACTOR));
      setTimeout(() => {
        this.busy = false;
        this.next();
      }, gap).unref();
    });
  }
}

// Process-wide, like the budget it enforces (module copies share it).
const schedulerGlobal = processGlobal("screen-parse-scheduler", () => new ParseScheduler());
const scheduler = () => schedulerGlobal.get();
