import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { OutputRing } from "./output-ring";

const cat = (bufs: Buffer[]) => Buffer.concat(bufs);

describe("output ring", () => {
  it("holds the last `capacity` bytes by absolute offset and hands back exactly what it evicts", () => {
    const ring = new OutputRing(10_000);
    const all: Buffer[] = [];
    const evicted: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      const chunk = randomBytes(1 + ((i * 7919) % 3000)); // 1 byte .. 3 KiB, across block edges
      all.push(chunk);
      evicted.push(...ring.push(chunk));
    }
    const stream = cat(all);
    expect(ring.head).toBe(stream.length);
    expect(ring.start).toBe(stream.length - 10_000);
    expect(ring.bytesHeld).toBe(10_000);
    expect(cat(evicted).equals(stream.subarray(0, ring.start))).toBe(true);
    expect(cat(ring.since(ring.start)).equals(stream.subarray(ring.start))).toBe(true);
    const mid = ring.start + 4321;
    expect(cat(ring.since(mid)).equals(stream.subarray(mid))).toBe(true);
    expect(ring.since(ring.head)).toEqual([]);
    expect(ring.covers(ring.start - 1)).toBe(false);
    expect(() => ring.since(ring.start - 1)).toThrow(RangeError);
  });

  it("copies: later changes to a pushed buffer do not reach the ring, and views stay valid", () => {
    const ring = new OutputRing(1 << 20);
    const chunk = Buffer.from("hello");
    ring.push(chunk);
    const view = ring.since(0);
    chunk.fill(0);
    ring.push(Buffer.from(" world"));
    expect(cat(view).toString()).toBe("hello");
    expect(cat(ring.since(0)).toString()).toBe("hello world");
  });

  it("takes chunks larger than a block and than the whole capacity", () => {
    const ring = new OutputRing(4096);
    const big = randomBytes(100_000);
    const evicted = ring.push(big);
    expect(cat(evicted).equals(big.subarray(0, 100_000 - 4096))).toBe(true);
    expect(cat(ring.since(ring.start)).equals(big.subarray(100_000 - 4096))).toBe(true);
  });

  it("costs its bytes, not an object per chunk, when full of keystroke echoes", () => {
    const ring = new OutputRing(1 << 20);
    const one = Buffer.from("x");
    const t0 = performance.now();
    for (let i = 0; i < 3 << 20; i++) ring.push(one); // 3 M one-byte chunks through a 1 MiB ring
    const took = performance.now() - t0;
    expect(ring.bytesHeld).toBe(1 << 20);
    // ~65 blocks of 16 KiB, never a million Buffers.
    expect((ring as unknown as { blocks: Buffer[] }).blocks.length).toBeLessThanOrEqual((1 << 20) / (16 << 10) + 2);
    expect(took).toBeLessThan(5000); // linear: well under a second here
  });
});

const text = (bufs: Buffer[]) => Buffer.concat(bufs).toString();

describe("output ring: offsets and eviction", () => {
  it("returns exactly the bytes since an offset", () => {
    const r = new OutputRing(100);
    r.push(Buffer.from("hello "));
    r.push(Buffer.from("world"));
    expect(text(r.since(0))).toBe("hello world");
    expect(text(r.since(3))).toBe("lo world");
    expect(text(r.since(6))).toBe("world");
    expect(text(r.since(11))).toBe("");
  });

  it("evicts the oldest bytes beyond its capacity, also inside a chunk", () => {
    const r = new OutputRing(8);
    expect(r.push(Buffer.from("abcdef"))).toEqual([]);
    const evicted = r.push(Buffer.from("ghijk"));
    expect(text(evicted)).toBe("abc");
    expect(r.start).toBe(3);
    expect(r.head).toBe(11);
    expect(r.bytesHeld).toBe(8);
    expect(text(r.since(3))).toBe("defghijk");
    expect(r.covers(2)).toBe(false);
    expect(() => r.since(2)).toThrow(RangeError);
    expect(text(r.push(Buffer.from("0123456789")))).toBe("defghijk01");
    expect(text(r.since(r.start))).toBe("23456789");
  });

  it("costs nothing until something is written", () => {
    const r = new OutputRing(1024 * 1024);
    expect(r.bytesHeld).toBe(0);
    expect(r.covers(0)).toBe(true);
    expect(r.covers(1)).toBe(false);
  });
});
