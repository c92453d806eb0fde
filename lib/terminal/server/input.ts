// A session's input on its way to the SSH channel: held until the shell is ready,
// then written in order, with backpressure to the browser when the channel does not
// take it (the program does not read, or the target's SSH window is full).
import { ByteQueue } from "@/lib/util/byte-queue";

/**
 * Stop reading the socket once this much input waits for the SSH channel (held
 * before the shell is ready, or queued behind the channel's SSH window)...
 */
export const INPUT_HIGH_WATER = 256 * 1024;
/** ...and read it again once the channel has taken the input down to this. */
export const INPUT_LOW_WATER = 64 * 1024;
/**
 * The hard cap on input waiting per session (MESHIA_TERMINAL_INPUT_CAP). Pausing the
 * socket keeps a session near INPUT_HIGH_WATER (plus what one socket read already
 * held); reaching the cap means flow control did not hold, and the session is closed
 * rather than let its memory grow.
 */
export const DEFAULT_INPUT_CAP = 4 * 1024 * 1024;

export interface InputChannel {
  write(data: Buffer, cb: () => void): unknown;
  readonly writableLength: number;
}

export interface InputEvents {
  /** Stop reading the socket. */
  pause(): void;
  /** Read the socket again. */
  resume(): void;
  /** More input waits than the cap allows. */
  overflow(buffered: number): void;
}

export class SessionInput {
  private readonly held = new ByteQueue<Buffer>();
  private channel: InputChannel | null = null;
  private pausedNow = false;

  constructor(
    readonly cap: number,
    private readonly events: InputEvents,
  ) {}

  /** The socket is paused because input waits for the SSH channel. */
  get paused(): boolean {
    return this.pausedNow;
  }

  /** Input taken from the socket that the SSH channel has not taken yet (held or queued behind its window). */
  get buffered(): number {
    return this.held.size + (this.channel?.writableLength ?? 0);
  }

  /** Input from the socket; `mayPause` is false until the shell can open (the socket must still be read for that). */
  push(data: Buffer, mayPause: boolean): void {
    if (this.channel) {
      // The callback runs once the channel has handed the bytes to SSH (within the
      // target's window): that is when reading the socket may start again.
      this.channel.write(data, this.taken);
    } else {
      // A copy: the view would pin ws's whole read buffer.
      this.held.push(Buffer.from(data));
    }
    const buffered = this.buffered;
    if (buffered > this.cap) return this.events.overflow(buffered);
    if (!this.pausedNow && buffered > INPUT_HIGH_WATER && mayPause) {
      // Backpressure to the browser: TCP stops, and the sender's socket buffer fills.
      this.pausedNow = true;
      this.events.pause();
    }
  }

  /** The shell is open: what was held goes to it first, in order. */
  open(channel: InputChannel): void {
    this.channel = channel;
    for (const b of this.held.clear()) channel.write(b, this.taken);
    if (this.buffered <= INPUT_LOW_WATER) this.resume();
  }

  /** The session is over: nothing more goes anywhere. */
  close(): void {
    this.channel = null;
    this.held.clear();
    this.pausedNow = false;
  }

  overflowMessage(buffered: number): string {
    return `Input arrived faster than the shell took it: ${Math.round(buffered / 1024)} KiB were waiting, above this server's limit of ${Math.round(this.cap / 1024)} KiB per session. The session was closed.`;
  }

  private readonly taken = (): void => {
    if (!this.pausedNow || this.buffered > INPUT_LOW_WATER) return;
    this.resume();
  };

  private resume(): void {
    if (!this.pausedNow) return;
    this.pausedNow = false;
    this.events.resume();
  }
}
