// A pty's output onto its SSH channel: reads coalesced into full SSH packets, and
// the pty no longer read while the channel's window is full.
//
// A pty read returns ~4 KiB at most, and libuv does one read per readiness, so
// writing each read as it came made one SSH packet per 4 KiB: padding, encryption
// and a socket write here, a decryption and a data event at the client, per 4 KiB.
// While reads keep coming turn after turn (a program dumping output), they are
// collected into one write of up to a full 32 KiB packet, sent after the first
// turn without a read. A small read (a keystroke echo, a prompt, the tail of a
// burst) goes out at once. Pending immediates keep the loop from blocking in
// poll, so waiting a turn costs microseconds, not a timer tick.
import type { IPty } from "node-pty";
import type { ServerChannel } from "ssh2";
import { ByteQueue } from "@/lib/util/byte-queue";

/** One SSH packet's worth (ssh2 and OpenSSH clients take 32 KiB packets). */
const COALESCE_BYTES = 32 * 1024;
/** The most a Linux pty read returns in one go, typically (its buffers hold 4095 bytes). */
const PTY_FULL_READ = 4095;
/** Reads below this are interactive (echoes, prompts) or the end of a burst: no waiting. */
const SMALL_READ = 1024;
/** Pty output waiting for SSH window above which we stop reading the pty (one SSH packet)... */
const PTY_PAUSE_BYTES = 32 * 1024;
/** ...and below which we read again. */
const PTY_RESUME_BYTES = 0;

export class PtyOutput {
  private readonly pending = new ByteQueue<Buffer>();
  private readThisTurn = false;
  private turnCheck: NodeJS.Immediate | null = null;
  private pausedNow = false;

  constructor(
    private readonly proc: Pick<IPty, "pause" | "resume">,
    private readonly channel: ServerChannel,
  ) {}

  /** The pty is not being read: output waits for the SSH window. */
  get paused(): boolean {
    return this.pausedNow;
  }

  /** A read from the pty. */
  data(chunk: Buffer): void {
    this.pending.push(chunk);
    // Flush before another full read would overflow the packet (8 x 4095 fit in 32 KiB, 9 would split).
    if (this.pending.size + PTY_FULL_READ > COALESCE_BYTES || chunk.length < SMALL_READ) return this.flush();
    this.readThisTurn = true;
    this.turnCheck ??= setImmediate(this.endOfTurn);
  }

  /** Writes what was collected (before the exit status, the last output). */
  flush(): void {
    if (this.turnCheck) clearImmediate(this.turnCheck);
    this.turnCheck = null;
    if (!this.pending.size) return;
    const size = this.pending.size;
    const parts = this.pending.clear();
    const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
    if (!this.channel.writable) return;
    // Backpressure: when the SSH channel's window is full, stop reading the pty so
    // the program blocks instead of our memory growing. Pause as soon as output
    // waits for window (as sshd does), not when write() says so: that happens only
    // past the stream's 2 MiB high-water mark, and those 2 MiB still reached the
    // browser after a Ctrl-C. Whatever stays in the pty is flushed by the tty on ^C.
    this.channel.write(data, () => {
      if (this.pausedNow && this.channel.writableLength <= PTY_RESUME_BYTES) {
        this.pausedNow = false;
        this.proc.resume();
      }
    });
    if (!this.pausedNow && this.channel.writableLength > PTY_PAUSE_BYTES) {
      this.pausedNow = true;
      this.proc.pause();
    }
  }

  /** The channel closed: what was collected goes nowhere. */
  close(): void {
    if (this.turnCheck) clearImmediate(this.turnCheck);
    this.turnCheck = null;
    this.pending.clear();
  }

  private readonly endOfTurn = (): void => {
    this.turnCheck = null;
    if (this.readThisTurn && !this.pausedNow) {
      this.readThisTurn = false;
      this.turnCheck = setImmediate(this.endOfTurn);
    } else this.flush();
  };
}
