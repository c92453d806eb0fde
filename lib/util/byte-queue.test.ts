import { describe, expect, it } from "vitest";
import { ByteQueue } from "./byte-queue";

const bytes = (...xs: number[]) => Uint8Array.from(xs);
const flat = (parts: Uint8Array[]) => Array.from(parts.flatMap((p) => Array.from(p)));

describe("ByteQueue", () => {
  it("counts bytes and chunks, and ignores empty chunks", () => {
    const q = new ByteQueue();
    q.push(bytes(1, 2));
    q.push(bytes());
    q.push(bytes(3));
    expect(q.size).toBe(3);
    expect(q.length).toBe(2);
  });

  it("takes whole chunks, then splits one, keeping the rest queued in order", () => {
    const q = new ByteQueue();
    q.push(bytes(1, 2, 3));
    q.push(bytes(4, 5, 6));
    const first = q.take(4);
    expect(first.map((p) => p.length)).toEqual([3, 1]);
    expect(flat(first)).toEqual([1, 2, 3, 4]);
    expect(q.size).toBe(2);
    expect(flat(q.take())).toEqual([5, 6]);
    expect(q.size).toBe(0);
    expect(q.length).toBe(0);
  });

  it("takes no more than it holds and nothing for n <= 0", () => {
    const q = new ByteQueue();
    q.push(bytes(7, 8));
    expect(q.take(0)).toEqual([]);
    expect(q.take(-3)).toEqual([]);
    expect(flat(q.take(99))).toEqual([7, 8]);
    expect(q.take(1)).toEqual([]);
  });

  it("does not copy: a split is a view of the pushed chunk", () => {
    const q = new ByteQueue<Buffer>();
    const b = Buffer.from("hello");
    q.push(b);
    const [head] = q.take(2);
    b[0] = 0x48;
    expect(head!.toString()).toBe("He");
    expect(Buffer.isBuffer(head)).toBe(true);
  });

  it("clear returns what was queued and empties it", () => {
    const q = new ByteQueue();
    q.push(bytes(1));
    q.push(bytes(2));
    expect(flat(q.clear())).toEqual([1, 2]);
    expect(q.size).toBe(0);
  });

  it("keeps every byte in order over many random pushes and takes", () => {
    const q = new ByteQueue();
    const expected: number[] = [];
    const got: number[] = [];
    let next = 0;
    for (let i = 0; i < 2000; i++) {
      if (Math.random() < 0.6) {
        const len = Math.floor(Math.random() * 9);
        const c = Uint8Array.from({ length: len }, () => next++ & 0xff);
        expected.push(...c);
        q.push(c);
      } else {
        got.push(...flat(q.take(Math.floor(Math.random() * 12))));
      }
      expect(q.size).toBe(expected.length - got.length);
    }
    got.push(...flat(q.take()));
    expect(got).toEqual(expected);
  });
});
