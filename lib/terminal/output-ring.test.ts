import { describe, expect, it } from "vitest";
import { OutputRing } from "./output-ring";

const text = (bufs: Buffer[]) => Buffer.concat(bufs).toString();

describe("OutputRing", () => {
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
