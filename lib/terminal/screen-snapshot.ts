// The screen a resuming client gets when it missed more output than the ring
// holds: a server-side headless xterm, serialized. It lags behind the live stream,
// fed only with bytes that fall out of the ring, so sessions that never overflow
// the ring never pay for it; a flood that it cannot keep up with is dropped and
// the screen rebuilt from the ring (which then still covers the whole visible screen).
import headlessPkg from "@xterm/headless";
import serializePkg from "@xterm/addon-serialize";
import type { OutputRing } from "./output-ring";

// Both packages are CommonJS: named ESM imports fail under Node/tsx.
const { Terminal } = headlessPkg;
const { SerializeAddon } = serializePkg;

const SCROLLBACK = 500;
/** Evicted bytes waiting to be parsed beyond this are dropped (see above). */
const MAX_BACKLOG = 4 * 1024 * 1024;
/** Bytes parsed per turn of the event loop, so a backlog never blocks other sessions. */
const SLICE = 64 * 1024;

export class ScreenSnapshot {
  private term: InstanceType<typeof Terminal> | null = null;
  private serializer: InstanceType<typeof SerializeAddon> | null = null;
  private backlog: Buffer[] = [];
  private backlogBytes = 0;
  /** Offset up to which output has been handed to the headless terminal. */
  private fed = 0;
  private draining = false;
  private disposed = false;

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

  /** Bytes that fell out of the ring, `endOffset` being the ring's new start. */
  evicted(chunks: Buffer[], endOffset: number): void {
    let pos = endOffset - chunks.reduce((n, c) => n + c.length, 0);
    for (const c of chunks) {
      const end = pos + c.length;
      if (end > this.fed) this.backlog.push(pos >= this.fed ? c : c.subarray(this.fed - pos));
      pos = end;
    }
    this.backlogBytes = this.backlog.reduce((n, c) => n + c.length, 0);
    this.fed = Math.max(this.fed, endOffset);
    if (this.backlogBytes > MAX_BACKLOG) {
      // Cannot keep up: forget the past; the ring alone will rebuild the screen.
      this.backlog = [];
      this.backlogBytes = 0;
      this.ensure().reset();
    }
    this.drain();
  }

  private drain(): void {
    if (this.draining || this.disposed) return;
    this.draining = true;
    const step = () => {
      if (this.disposed) return;
      let budget = SLICE;
      const term = this.ensure();
      while (budget > 0 && this.backlog.length) {
        const c = this.backlog.shift()!;
        this.backlogBytes -= c.length;
        term.write(c);
        budget -= c.length;
      }
      if (this.backlog.length) setImmediate(step);
      else this.draining = false;
    };
    setImmediate(step);
  }

  /** The current screen: everything fed so far plus the ring's bytes, serialized. */
  async snapshot(ring: OutputRing): Promise<{ seq: number; data: string }> {
    const term = this.ensure();
    const pending = [...this.backlog];
    this.backlog = [];
    this.backlogBytes = 0;
    const from = Math.max(this.fed, ring.start);
    const rest = ring.since(from);
    const seq = ring.head;
    this.fed = seq;
    for (const c of [...pending, ...rest]) term.write(c);
    await new Promise<void>((resolve) => term.write("", resolve));
    return { seq, data: this.serializer!.serialize({ scrollback: SCROLLBACK }) };
  }

  dispose(): void {
    this.disposed = true;
    this.term?.dispose();
    this.term = null;
    this.backlog = [];
  }
}
