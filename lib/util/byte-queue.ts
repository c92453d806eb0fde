// A FIFO of byte chunks that knows its total size: output waiting for a frame,
// input waiting for a channel, keystrokes held while reconnecting. Chunks are kept
// as given (no copy on push); `take(n)` splits one chunk at most. No Node APIs: the
// browser's connection uses it too.

export class ByteQueue<T extends Uint8Array = Uint8Array> {
  private chunks: T[] = [];
  private bytes = 0;

  /** Total bytes queued. */
  get size(): number {
    return this.bytes;
  }

  /** Number of chunks queued. */
  get length(): number {
    return this.chunks.length;
  }

  push(chunk: T): void {
    if (chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.bytes += chunk.byteLength;
  }

  /**
   * Removes and returns the first `n` bytes (all of them when `n` is omitted or
   * larger than the queue), as the chunks that hold them; the last one may be a
   * view of part of a queued chunk, whose rest stays queued.
   */
  take(n = this.bytes): T[] {
    n = Math.max(0, Math.min(n, this.bytes));
    if (n === this.bytes) return this.clear();
    const out: T[] = [];
    let taken = 0;
    let i = 0;
    while (taken < n) {
      const c = this.chunks[i]!;
      const want = n - taken;
      if (c.byteLength <= want) {
        out.push(c);
        taken += c.byteLength;
        i++;
      } else {
        out.push(c.subarray(0, want) as T);
        this.chunks[i] = c.subarray(want) as T;
        taken = n;
      }
    }
    this.chunks.splice(0, i);
    this.bytes -= n;
    return out;
  }

  /** Empties the queue and returns what it held. */
  clear(): T[] {
    const out = this.chunks;
    this.chunks = [];
    this.bytes = 0;
    return out;
  }
}
