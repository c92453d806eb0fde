// A session's recent output, addressed by absolute byte offset, bounded in size.
// Chunks are kept as received (no copying into a preallocated buffer), so an idle
// session costs only what it actually printed.
export class OutputRing {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Offset of the first byte still held. */
  start = 0;
  /** Offset one past the last byte ever written. */
  head = 0;

  constructor(readonly capacity: number) {}

  /** Appends a chunk; returns what fell off the front (oldest first). */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.head += chunk.length;
    const evicted: Buffer[] = [];
    while (this.size > this.capacity) {
      const first = this.chunks[0]!;
      const excess = this.size - this.capacity;
      if (first.length <= excess) {
        this.chunks.shift();
        evicted.push(first);
        this.size -= first.length;
        this.start += first.length;
      } else {
        evicted.push(first.subarray(0, excess));
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
        this.start += excess;
      }
    }
    return evicted;
  }

  /** True when every byte from `offset` to the head is still held. */
  covers(offset: number): boolean {
    return offset >= this.start && offset <= this.head;
  }

  /** The bytes from `offset` to the head, as held (no copy). */
  since(offset: number): Buffer[] {
    if (!this.covers(offset)) throw new RangeError(`offset ${offset} is outside ${this.start}..${this.head}`);
    const out: Buffer[] = [];
    let pos = this.start;
    for (const c of this.chunks) {
      const end = pos + c.length;
      if (end > offset) out.push(pos >= offset ? c : c.subarray(offset - pos));
      pos = end;
    }
    return out;
  }

  get bytesHeld(): number {
    return this.size;
  }
}
