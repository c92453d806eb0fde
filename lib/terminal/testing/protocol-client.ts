// The terminal protocol's client for tests, browser tests and benches (Node only,
// on `ws`): decodes every server frame with the protocol's own codec, keeps the
// frames and the output, acknowledges output as xterm's write callback would
// (unless told not to), and waits for conditions. Relative imports: Playwright
// loads this file too.
import WebSocket from "ws";
import { decodeServerFrame, encodeClientFrame, type ClientFrame, type ServerFrame } from "../protocol";

export type FrameOf<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;

/** Floods keep only this much of the latest output (see `keep`). */
const TAIL_BYTES = 64 * 1024;

export interface ProtocolClientOptions {
  /** Acknowledge every output frame (and snapshot) as it arrives; default true. Can be changed later through `autoAck`. */
  autoAck?: boolean;
  /**
   * What to keep: "all" (default) every frame and all output; "tail" every frame but
   * output ones, and only the last 64 KiB of output (floods); "none" no output and no
   * output frames, for benches that read output through `onOutput`.
   */
  keep?: "all" | "tail" | "none";
  /** Called with each output frame's bytes (a view of the frame), `offset` already past them. */
  onOutput?(chunk: Buffer): void;
}

export interface ConnectOptions extends ProtocolClientOptions {
  headers?: Record<string, string>;
  origin?: string;
}

export class ProtocolClient {
  /** The server frames received, in order (output frames per `keep`). */
  readonly frames: ServerFrame[] = [];
  /** The output offset processed so far: what the next ack says. */
  offset = 0;
  /** How the socket closed, once it has. */
  closed: { code: number; reason: string } | null = null;
  readonly whenClosed: Promise<{ code: number; reason: string }>;
  autoAck: boolean;
  onOutput: ((chunk: Buffer) => void) | null;
  private readonly keep: "all" | "tail" | "none";
  private outputChunks: Buffer[] = [];
  private waiters: (() => void)[] = [];

  /** Wraps an open or opening socket (listening from now on). */
  constructor(
    readonly ws: WebSocket,
    opts: ProtocolClientOptions = {},
  ) {
    this.autoAck = opts.autoAck ?? true;
    this.keep = opts.keep ?? "all";
    this.onOutput = opts.onOutput ?? null;
    ws.binaryType = "nodebuffer";
    ws.on("message", (data: Buffer) => this.receive(data));
    this.whenClosed = new Promise((resolve) =>
      ws.once("close", (code, reason) => {
        this.closed = { code, reason: reason.toString() };
        this.wake();
        resolve(this.closed);
      }),
    );
    ws.on("error", () => undefined);
  }

  /** Opens a socket to `url` (without waiting: see `opened()`). */
  static connect(url: string, opts: ConnectOptions = {}): ProtocolClient {
    const ws = new WebSocket(url, { perMessageDeflate: false, headers: opts.headers ?? {}, ...(opts.origin ? { origin: opts.origin } : {}) });
    return new ProtocolClient(ws, opts);
  }

  /** Resolves once the socket is open; rejects if it fails first. */
  opened(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
      this.ws.once("unexpected-response", (_req, res) => reject(new Error(`handshake refused: ${res.statusCode}`)));
    });
  }

  send(f: ClientFrame): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(encodeClientFrame(f));
  }

  /** Input frames of UTF-8 text. */
  type(text: string): void {
    this.send({ type: "input", data: new TextEncoder().encode(text) });
  }

  resize(cols: number, rows: number): void {
    this.send({ type: "resize", cols, rows });
  }

  /** The output kept (all of it, or its tail), joined. */
  get output(): Buffer {
    if (this.outputChunks.length > 1) this.outputChunks = [Buffer.concat(this.outputChunks)];
    return this.outputChunks[0] ?? Buffer.alloc(0);
  }

  text(): string {
    return this.output.toString("utf8");
  }

  framesOf<T extends ServerFrame["type"]>(type: T): FrameOf<T>[] {
    return this.frames.filter((f): f is FrameOf<T> => f.type === type);
  }

  outputFrames(): FrameOf<"output">[] {
    return this.framesOf("output");
  }

  /** The states of the status frames received, in order. */
  states(): string[] {
    return this.framesOf("status").map((f) => f.state);
  }

  /** Whether a status frame with this state arrived. */
  status(state: string): boolean {
    return this.states().includes(state);
  }

  /** Waits until `pred()` holds (checked on every frame, on close and every 20 ms). */
  async until(pred: () => boolean, ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out; output so far: ${JSON.stringify(this.text().slice(-300))}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 20);
      });
    }
  }

  /** Closes the socket and waits for the close. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    await this.whenClosed;
  }

  private receive(data: Buffer): void {
    const f = decodeServerFrame(data);
    if (f.type === "output") {
      const chunk = Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength);
      this.offset = f.seq + f.data.byteLength;
      this.keepOutput(chunk);
      this.onOutput?.(chunk);
    } else if (f.type === "snapshot") {
      this.offset = f.seq;
    }
    if (this.keep === "all" || f.type !== "output") this.frames.push(f);
    if ((f.type === "output" || f.type === "snapshot") && this.autoAck) this.send({ type: "ack", bytes: this.offset });
    this.wake();
  }

  private keepOutput(chunk: Buffer): void {
    if (this.keep === "none") return;
    if (this.keep === "tail") {
      const tail = this.output;
      this.outputChunks = [tail.length > TAIL_BYTES ? tail.subarray(-TAIL_BYTES) : tail];
    }
    this.outputChunks.push(chunk);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
