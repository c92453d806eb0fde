// A session's recent output, addressed by absolute byte offset, bounded in size.
// Output is copied into append-only blocks that grow from 1 KiB to 64 KiB, so an
// idle session costs about what it printed, and a ring full of keystroke echoes
// (chunks of a few bytes each) costs its bytes, not one Buffer object per chunk.
// Written bytes are never overwritten: views handed out stay valid.

const MIN_BLOCK = 1024;
/** A flood allocates a block per MAX_BLOCK bytes: at 16 KiB the allocations were ~0.3 ms of CPU per MiB in a profile. */
const MAX_BLOCK = 64 * 1024;

export class OutputRing {
  /** Oldest first; only the last one has room left. */
  private blocks: Buffer[] = [];
  /** Offset of blocks[0][0]. */
  private firstOffset = 0;
  /** Bytes written into the last block. */
  private tailUsed = 0;
  /** Offset of the first byte still held. */
  start = 0;
  /** Offset one past the last byte ever written. */
  head = 0;

  constructor(readonly capacity: number) {}

  /** Appends a chunk (copied); returns what fell off the front (oldest first). */
  push(chunk: Uint8Array): Buffer[] {
    let off = 0;
    while (off < chunk.length) {
      let tail = this.blocks[this.blocks.length - 1];
      if (!tail || this.tailUsed === tail.length) {
        const size = Math.min(MAX_BLOCK, Math.max(MIN_BLOCK, tail ? tail.length * 2 : MIN_BLOCK));
        // Not from Node's shared pool: a block must not pin an 8 KiB slab of other data.
        tail = Buffer.allocUnsafeSlow(size);
        this.blocks.push(tail);
        this.tailUsed = 0;
      }
      const n = Math.min(tail.length - this.tailUsed, chunk.length - off);
      tail.set(chunk.subarray(off, off + n), this.tailUsed);
      this.tailUsed += n;
      off += n;
    }
    this.head += chunk.length;
    if (this.head - this.start <= this.capacity) return [];
    const newStart = this.head - this.capacity;
    const evicted = this.range(this.start, newStart);
    this.start = newStart;
    while (this.blocks.length > 1 && this.firstOffset + this.blocks[0]!.length <= this.start) {
      this.firstOffset += this.blocks[0]!.length;
      this.blocks.shift();
    }
    return evicted;
  }

  /** True when every byte from `offset` to the head is still held. */
  covers(offset: number): boolean {
    return offset >= this.start && offset <= this.head;
  }

  /** The bytes from `offset` to the head, as views into the ring (no copy). */
  since(offset: number): Buffer[] {
    if (!this.covers(offset)) throw new RangeError(`offset ${offset} is outside ${this.start}..${this.head}`);
    return this.range(offset, this.head);
  }

  get bytesHeld(): number {
    return this.head - this.start;
  }

  /** Views of [from, to), which must be held. */
  private range(from: number, to: number): Buffer[] {
    const out: Buffer[] = [];
    let pos = this.firstOffset;
    const last = this.blocks.length - 1;
    for (let i = 0; i <= last && pos < to; i++) {
      const block = this.blocks[i]!;
      const used = i === last ? this.tailUsed : block.length;
      const end = pos + used;
      if (end > from) out.push(block.subarray(Math.max(0, from - pos), Math.min(used, to - pos)));
      pos = end;
    }
    return out;
  }
}
