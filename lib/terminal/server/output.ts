// A session's output and how it is written to the socket: kept in the resume ring
// (bytes falling out of it feed the screen snapshot), live output coalesced into
// frames, a resuming socket caught up with exactly what it missed, and every other
// frame sent in stream order behind the output queued before it.
import type { WebSocket } from "ws";
import { ByteQueue } from "@/lib/util/byte-queue";
import { CLOSE, OUTPUT_CHUNK_BYTES, encodeOutputFrame, encodeServerFrame, type ServerFrame } from "../protocol";
import { OutputRing } from "./output-ring";
import { ScreenSnapshot } from "./screen-snapshot";
import type { SessionEnd } from "./session-deps";

/** A frame at least this big, sent less than FLOOD_COALESCE_MS ago, means a flood (see push). */
const FLOOD_FRAME_BYTES = 16 * 1024;
const FLOOD_COALESCE_MS = 2;

export function sendFrame(ws: WebSocket, frame: ServerFrame, cb?: () => void): void {
  sendEncoded(ws, encodeServerFrame(frame), cb);
}

/** Tells a socket its session is not for it (ended, expired or taken over), then closes it. */
export function endSocket(ws: WebSocket, state: "expired" | "taken-over", detail: string): void {
  sendFrame(ws, { type: "status", state, detail });
  ws.close(CLOSE.normal, state === "taken-over" ? "taken over" : state);
}

function sendEncoded(ws: WebSocket, bytes: Uint8Array, cb?: () => void): void {
  if (ws.readyState !== ws.OPEN) return;
  ws.send(bytes, { binary: true }, cb ? () => cb() : undefined);
}

export class SessionOutput {
  private readonly ring: OutputRing;
  private readonly screen = new ScreenSnapshot(80, 24);
  /**
   * Live output for the socket, coalesced until the end of this turn of the event
   * loop: the target's pty hands over ~4 KiB at a time, and one frame per read
   * multiplied every per-frame cost (framing, ws send callbacks, the client's
   * parse and ack). A keystroke echo still goes out in the same turn it arrived.
   */
  private readonly queue = new ByteQueue<Buffer>();
  /** Offset of the first queued byte. */
  private queueSeq = 0;
  private flushTimer: { immediate: NodeJS.Immediate } | { timeout: NodeJS.Timeout } | null = null;
  /** When the last live output frame went out, and its size: tells a flood from typing. */
  private lastFlushAt = 0;
  private lastFlushBytes = 0;
  /** Output offsets sent to (or queued for) the socket, and acknowledged by it. */
  private sent = 0;
  private acked = 0;

  private readonly socket: () => WebSocket | null;
  private readonly frameSent: () => void;

  /**
   * `socket`: the attached socket, if any; `frameSent`: called as each output frame
   * has been written (the socket's buffer shrank: flow control looks again).
   */
  constructor(resumeBufferBytes: number, on: { socket(): WebSocket | null; frameSent(): void }) {
    this.ring = new OutputRing(resumeBufferBytes);
    this.socket = on.socket;
    this.frameSent = on.frameSent;
  }

  /** Offset one past the last byte of output. */
  get head(): number {
    return this.ring.head;
  }

  /** Output sent (queued bytes count as in flight: flow control sees them at once) and not acknowledged. */
  get unacked(): number {
    return this.sent - this.acked;
  }

  ack(bytes: number): void {
    this.acked = Math.max(this.acked, Math.min(bytes, this.sent));
  }

  resize(cols: number, rows: number): void {
    this.screen.resize(cols, rows);
  }

  /** Output from the target; `live`: the attached socket gets it now (it is not being caught up). */
  push(chunk: Buffer, live: boolean): void {
    const seq = this.ring.head;
    const evicted = this.ring.push(chunk);
    if (evicted.length) this.screen.evicted(evicted, this.ring.start);
    if (!live) return;
    if (!this.queue.size) this.queueSeq = seq;
    this.queue.push(chunk);
    this.sent = seq + chunk.length;
    if (this.queue.size >= OUTPUT_CHUNK_BYTES) this.flush(true);
    if (!this.queue.size || this.flushTimer) return;
    // In a flood (a large frame went out a moment ago) the target's packets arrive a
    // few KiB per turn: waiting a couple of ms fills frames, where flushing every turn
    // made many small ones, each a socket write, a client parse and an ack. Typing
    // (small echoes, or the first output after a pause) still goes out this turn.
    const flood = this.lastFlushBytes >= FLOOD_FRAME_BYTES && performance.now() - this.lastFlushAt < FLOOD_COALESCE_MS;
    this.flushTimer = flood ? { timeout: setTimeout(() => this.flush(), FLOOD_COALESCE_MS) } : { immediate: setImmediate(() => this.flush()) };
  }

  /**
   * Catches a newly attached socket up from `resumeFrom` (the client's output offset,
   * or null for a fresh terminal): the bytes it missed from the ring, or a screen
   * snapshot when the gap is bigger than the ring, never raw bytes we no longer have.
   */
  async replay(ws: WebSocket, resumeFrom: number | null): Promise<void> {
    let from = this.ring.head;
    if (resumeFrom !== null && resumeFrom > this.ring.head) resumeFrom = null; // from a previous life of the server: start over
    if (resumeFrom !== null) {
      if (this.ring.covers(resumeFrom)) {
        from = resumeFrom;
      } else {
        const snap = await this.screen.snapshot(this.ring);
        if (this.socket() !== ws) return;
        this.send(ws, { type: "snapshot", seq: snap.seq, data: Buffer.from(snap.data, "utf8") });
        from = snap.seq;
      }
    }
    this.acked = from;
    this.sent = this.ring.head;
    this.write(ws, this.ring.since(from), from, true);
  }

  /** Any other frame for the socket: queued output goes first, so the order of the stream holds. */
  send(ws: WebSocket, frame: ServerFrame): void {
    if (ws === this.socket()) this.flush();
    sendFrame(ws, frame);
  }

  /** Sends the queued output; with `fullFramesOnly`, a partial last frame stays queued for more to join it. */
  flush(fullFramesOnly = false): void {
    if (!fullFramesOnly && this.flushTimer) this.clearFlushTimer();
    const ws = this.socket();
    const queued = this.queue.size;
    if (!queued || !ws) return;
    const n = fullFramesOnly ? queued - (queued % OUTPUT_CHUNK_BYTES) : queued;
    if (!n) return;
    const seq = this.queueSeq;
    const parts = this.queue.take(n);
    this.queueSeq += n;
    this.lastFlushAt = performance.now();
    this.lastFlushBytes = n;
    this.write(ws, parts, seq, false);
  }

  /** How the session ended, then the close (the session is over). */
  sendEnd(ws: WebSocket, end: SessionEnd): void {
    if (end.state === "ended" && (end.exitCode !== null || end.exitSignal !== null)) {
      this.send(ws, { type: "exit", code: end.exitCode, signal: end.exitSignal });
    }
    this.send(ws, { type: "status", state: end.state, detail: end.reason });
    if (ws.isPaused) ws.resume(); // a paused socket would never read the peer's close frame
    ws.close(CLOSE.normal, end.state);
  }

  /** The socket went away: a resuming socket replays these from the ring. */
  dropQueued(): void {
    this.clearFlushTimer();
    this.queue.clear();
  }

  dispose(): void {
    this.dropQueued();
    this.screen.dispose();
  }

  private clearFlushTimer(): void {
    const t = this.flushTimer;
    this.flushTimer = null;
    if (!t) return;
    if ("timeout" in t) clearTimeout(t.timeout);
    else clearImmediate(t.immediate);
  }

  /** Sends `parts` (the output from offset `seq` on) in frames of up to OUTPUT_CHUNK_BYTES. */
  private write(ws: WebSocket, parts: Buffer[], seq: number, replay: boolean): void {
    let frame: Buffer[] = [];
    let size = 0;
    let frameSeq = seq;
    const emit = () => {
      // A fresh buffer per frame: a pool of frame buffers reused from ws's send
      // callbacks (tried for the ~1-3% of allocation in a flood) went with a browser
      // paste's echo stalling half-way after a flood in another session (e2e), so
      // nothing is reused until that is understood.
      sendEncoded(ws, encodeOutputFrame(frameSeq, replay, frame), this.frameSent);
      frameSeq += size;
      frame = [];
      size = 0;
    };
    for (let part of parts) {
      while (part.length) {
        const take = Math.min(part.length, OUTPUT_CHUNK_BYTES - size);
        frame.push(take === part.length ? part : part.subarray(0, take));
        size += take;
        part = part.subarray(take);
        if (size === OUTPUT_CHUNK_BYTES) emit();
      }
    }
    if (size) emit();
  }
}
