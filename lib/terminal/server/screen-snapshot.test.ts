import headlessPkg from "@xterm/headless";
import serializePkg from "@xterm/addon-serialize";
import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { OutputRing } from "./output-ring";
import { MAX_BACKLOG, ScreenSnapshot } from "./screen-snapshot";

const { Terminal } = headlessPkg;
const { SerializeAddon } = serializePkg;

/** What a client that saw every byte would show. */
async function reference(stream: Buffer[], cols: number, rows: number): Promise<InstanceType<typeof Terminal>> {
  const term = new Terminal({ cols, rows, scrollback: 500, allowProposedApi: true });
  for (const c of stream) term.write(c);
  await new Promise<void>((r) => term.write("", r));
  return term;
}

function serialize(term: InstanceType<typeof Terminal>): string {
  const s = new SerializeAddon();
  term.loadAddon(s);
  return s.serialize({ scrollback: 500 });
}

function visibleLines(term: InstanceType<typeof Terminal>): string[] {
  const buf = term.buffer.active;
  const out: string[] = [];
  for (let i = buf.baseY; i < buf.baseY + term.rows; i++) out.push(buf.getLine(i)?.translateToString(true) ?? "");
  return out;
}

/** Output as a session sees it: pushed into the ring, evictions handed to the screen. */
function feed(ring: OutputRing, screen: ScreenSnapshot, chunks: Buffer[]): void {
  for (const c of chunks) {
    const evicted = ring.push(c);
    if (evicted.length) screen.evicted(evicted, ring.start);
  }
}

async function until(cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

function lines(from: number, to: number, prefix = "line"): Buffer[] {
  const out: Buffer[] = [];
  for (let i = from; i < to; i++) out.push(Buffer.from(`${prefix} ${i} \x1b[3${i % 8}m${"x".repeat(i % 50)}\x1b[0m\r\n`));
  return out;
}

describe("screen snapshot", () => {
  it("reproduces exactly what a client that saw everything shows, modes included", async () => {
    const ring = new OutputRing(8 * 1024);
    const screen = new ScreenSnapshot(80, 24);
    // Alternate screen and a title early on: long evicted by the time we snapshot.
    const stream = [Buffer.from("before\r\n\x1b[?1049h\x1b]0;title\x07\x1b[2J\x1b[H"), ...lines(0, 3000)];
    feed(ring, screen, stream);
    await until(() => screen.pendingBytes === 0);
    const snap = await screen.snapshot(ring);
    expect(snap.seq).toBe(ring.head);
    const ref = await reference(stream, 80, 24);
    expect(snap.data).toBe(serialize(ref));
    expect(snap.data).toContain("\x1b[?1049h");
    screen.dispose();
  });

  it("is right even when asked before the background parsing caught up", async () => {
    const ring = new OutputRing(16 * 1024);
    const screen = new ScreenSnapshot(100, 30);
    const stream = lines(0, 20_000);
    feed(ring, screen, stream);
    expect(screen.pendingBytes).toBeGreaterThan(0); // still queued: the snapshot must parse it itself
    const snap = await screen.snapshot(ring);
    const ref = await reference(stream, 100, 30);
    expect(snap.data).toBe(serialize(ref));
    screen.dispose();
  });

  it("keeps its backlog bounded in a flood, and still shows the latest screen", async () => {
    const ring = new OutputRing(1024 * 1024);
    const screen = new ScreenSnapshot(80, 24);
    const stream = lines(0, 300_000, "flood"); // ~ 20 MiB, far more than ring + backlog
    let maxPending = 0;
    for (const c of stream) {
      feed(ring, screen, [c]);
      maxPending = Math.max(maxPending, screen.pendingBytes);
    }
    expect(maxPending).toBeLessThanOrEqual(MAX_BACKLOG + 64 * 1024);
    const snap = await screen.snapshot(ring);
    const term = await reference([Buffer.from(snap.data)], 80, 24);
    const ref = await reference(stream.slice(-1000), 80, 24);
    expect(visibleLines(term)).toEqual(visibleLines(ref));
    screen.dispose();
  });

  it("drops what is left of a flood that overflowed once it ends, instead of parsing it, and still shows the latest screen", async () => {
    const ring = new OutputRing(1024 * 1024);
    const screen = new ScreenSnapshot(80, 24);
    const stream = lines(0, 120_000, "flood"); // ~ 8 MiB: overflows ring + backlog once, leaves a backlog behind
    feed(ring, screen, stream);
    expect(screen.pendingBytes).toBeGreaterThan(0);
    // Output bytes handed to the headless terminal from here on. It exists if a first
    // slice started during the flood (the scheduler is process-wide: it may have been
    // busy with an earlier test's screen); if not, it must never be created.
    type Headless = { write(d: string | Uint8Array, cb?: () => void): void };
    const internals = screen as unknown as { term: Headless | null };
    const headless = internals.term;
    let parsed = 0;
    if (headless) {
      const write = headless.write.bind(headless);
      headless.write = (d, cb) => {
        if (typeof d !== "string") parsed += d.length;
        write(d, cb);
      };
    }
    await until(() => screen.pendingBytes === 0);
    expect(parsed).toBe(0);
    if (!headless) expect(internals.term).toBeNull();
    const snap = await screen.snapshot(ring);
    const term = await reference([Buffer.from(snap.data)], 80, 24);
    const ref = await reference(stream.slice(-1000), 80, 24);
    expect(visibleLines(term)).toEqual(visibleLines(ref));
    screen.dispose();
  });

  it("parses in the background without taking over the event loop", async () => {
    const ring = new OutputRing(64 * 1024);
    const screen = new ScreenSnapshot(80, 24);
    feed(ring, screen, lines(0, 40_000)); // ~ 2.6 MiB evicted, within the backlog
    const start = performance.eventLoopUtilization();
    await new Promise((r) => setTimeout(r, 1000));
    const elu = performance.eventLoopUtilization(start).utilization;
    expect(elu).toBeLessThan(0.35); // ~0.1 by design; lenient for a loaded machine
    screen.dispose();
  });

  it("disposing a screen mid-slice does not stall the others", async () => {
    const ring1 = new OutputRing(4096);
    const ring2 = new OutputRing(4096);
    const a = new ScreenSnapshot(80, 24);
    const b = new ScreenSnapshot(80, 24);
    feed(ring1, a, lines(0, 5000));
    feed(ring2, b, lines(0, 2000));
    a.dispose();
    await until(() => b.pendingBytes === 0);
    b.dispose();
  });
});
