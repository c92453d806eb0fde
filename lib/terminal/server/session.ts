// One terminal session: an SSH shell on a target, bridged to at most one browser
// socket at a time. It outlives a dropped socket for a grace period, keeping its
// output in a bounded ring so the client can resume with exactly the bytes it missed.
import type { Client, ClientChannel } from "ssh2";
import type { WebSocket } from "ws";
import type { Logger } from "@/lib/log";
import { BridgeConnectError, type BridgeFailure, type ReceiveWindow } from "@/lib/ssh/bridge";
import { OutputRing } from "./output-ring";
import {
  CLOSE,
  OUTPUT_CHUNK_BYTES,
  ProtocolError,
  decodeClientFrame,
  encodeOutputFrame,
  encodeServerFrame,
  type ServerFrame,
  type SessionState,
} from "../protocol";
import { ScreenSnapshot } from "./screen-snapshot";

/** Pause the SSH channel when this much output is sent but not yet acknowledged... */
export const HIGH_WATER = 512 * 1024;
/** ...and resume it below this. */
export const LOW_WATER = 128 * 1024;
/** A frame at least this big, sent less than FLOOD_COALESCE_MS ago, means a flood (see queueOutput). */
const FLOOD_FRAME_BYTES = 16 * 1024;
const FLOOD_COALESCE_MS = 2;
/** Also pause while the socket itself has this much queued. */
const SOCKET_HIGH_WATER = 1024 * 1024;
/** With no socket attached, the target may run this far ahead (into the ring). */
const DETACHED_WINDOW = 1024 * 1024;
/**
 * Input flow control: stop reading the socket once this much input waits for the
 * SSH channel (held before the shell is ready, or queued behind the channel's SSH
 * window because the program does not read)...
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
/** A socket we have not heard from (the client pings every ~25 s) is presumed dead. */
const SOCKET_SILENCE_MS = 75_000;
/**
 * What a user is told when the bridge cannot open the shell, whatever the cause:
 * refused, timed out, wrong host key or credential all read the same, so a target
 * pointed at someone else's address cannot be used as a port scanner. The cause
 * goes to the server log.
 */
export const UNREACHABLE_MESSAGE = "The compute target could not be reached.";
/** How long an ended session is kept so a reconnecting client learns how it ended. */
const ENDED_RETENTION_MS = 60_000;

export interface ShellConnection {
  client: Client;
  channel: ClientChannel;
  /**
   * The channel's SSH receive window, when the bridge controls it. Without it,
   * flow control can only pause the stream, and ssh2 keeps accepting (and
   * buffering) up to its own 2 MiB window behind the pause.
   */
  window?: ReceiveWindow;
}

export interface SessionEnd {
  state: "ended" | "compute-stopped";
  exitCode: number | null;
  exitSignal: string | null;
  reason: string;
  bytesIn: number;
  bytesOut: number;
}

export interface SessionDeps {
  log: Logger;
  resumeBufferBytes: number;
  /** The hard cap on buffered input (default DEFAULT_INPUT_CAP). */
  inputCapBytes?: number;
  graceMs: number;
  idleTimeoutMs: number;
  /** Opens the SSH shell at the given size. */
  connect(size: { cols: number; rows: number }): Promise<ShellConnection>;
  /** Whether the target still counts as live: tells "compute stopped" from other losses. */
  targetIsLive(): Promise<boolean>;
  onOpened?(): void;
  /** The shell could not be opened (the reason is for the log and audit, never the user). */
  onConnectFailed?(reason: BridgeFailure | "internal", detail: string): void;
  onEnded?(end: SessionEnd): void;
  /** The session is gone for good (registry removal). */
  onDisposed(): void;
}

type Phase = "waiting-size" | "connecting" | "live" | "ended";

export class TerminalSession {
  private phase: Phase = "waiting-size";
  private endState: SessionEnd | null = null;
  private conn: ShellConnection | null = null;
  private readonly ring: OutputRing;
  private readonly screen = new ScreenSnapshot(80, 24);
  private size = { cols: 0, rows: 0 };
  private pendingInput: Buffer[] = [];
  private pendingInputBytes = 0;
  /** The socket is paused because input waits for the SSH channel. */
  private inputPaused = false;

  private socket: WebSocket | null = null;
  /** While a resuming socket is being caught up, live output only goes to the ring. */
  private catchingUp = false;
  private sent = 0;
  private acked = 0;
  /**
   * Live output for the socket, coalesced until the end of this turn of the event
   * loop: the target's pty hands over ~4 KiB at a time, and one frame per read
   * multiplied every per-frame cost (framing, ws send callbacks, the client's
   * parse and ack). A keystroke echo still goes out in the same turn it arrived.
   */
  private outQueue: Buffer[] = [];
  private outQueuedBytes = 0;
  /** Offset of the first queued byte. */
  private outQueueSeq = 0;
  private flushTimer: { immediate: NodeJS.Immediate } | { timeout: NodeJS.Timeout } | null = null;
  /** When the last live output frame went out, and its size: tells a flood from typing. */
  private lastFlushAt = 0;
  private lastFlushBytes = 0;
  private paused = false;
  private lastHeard = 0;

  private bytesIn = 0;
  private bytesOut = 0;
  private graceTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private idleWarnTimer: NodeJS.Timeout | null = null;
  private silenceTimer: NodeJS.Timeout | null = null;
  private disposed = false;

  constructor(
    readonly id: string,
    readonly workspaceId: string,
    readonly targetId: string,
    private readonly deps: SessionDeps,
  ) {
    this.ring = new OutputRing(deps.resumeBufferBytes);
  }

  get state(): SessionState {
    if (this.phase === "ended") return this.endState?.state ?? "ended";
    return this.phase === "live" ? "live" : "connecting";
  }

  /** Over: ended, stopped or expired (it may still be kept a moment for a late resume to read why). */
  get ended(): boolean {
    return this.phase === "ended";
  }

  /** Bytes typed in and bytes of output so far. */
  get counts(): { bytesIn: number; bytesOut: number } {
    return { bytesIn: this.bytesIn, bytesOut: this.bytesOut };
  }

  get attached(): boolean {
    return this.socket !== null;
  }

  /** Input taken from the socket that the SSH channel has not taken yet (held or queued behind its window). */
  get inputBuffered(): number {
    return this.pendingInputBytes + (this.conn?.channel.writableLength ?? 0);
  }

  get outputOffset(): number {
    return this.ring.head;
  }

  /** Binds a socket. `resumeFrom` is the client's output offset, or null for a fresh terminal. */
  attach(ws: WebSocket, resumeFrom: number | null): void {
    if (this.disposed) {
      sendFrame(ws, { type: "status", state: "expired", detail: "This session no longer exists." });
      ws.close(CLOSE.normal, "expired");
      return;
    }
    if (this.socket) {
      const old = this.socket;
      this.detachSocket(old);
      sendFrame(old, { type: "status", state: "taken-over", detail: "This session was opened elsewhere." });
      old.close(CLOSE.normal, "taken over");
    }
    this.clearGrace();
    this.socket = ws;
    this.lastHeard = Date.now();
    if (this.inputPaused) ws.pause(); // the input of the socket it replaces is still waiting
    ws.on("message", (data, isBinary) => this.onMessage(ws, data as Buffer, isBinary));
    ws.on("close", () => this.onSocketClose(ws));
    ws.on("error", () => undefined);
    this.armSilenceTimer();
    void this.catchUp(ws, resumeFrom);
  }

  /** Ends the session now (tab closed, server shutting down). */
  close(reason: string): void {
    if (this.phase !== "ended") this.finish({ state: "ended", exitCode: null, exitSignal: null, reason });
    this.dispose();
  }

  /** The target went away: end with "compute stopped", no resume. */
  computeStopped(detail = "The compute target stopped; this session has ended."): void {
    if (this.phase !== "ended") this.finish({ state: "compute-stopped", exitCode: null, exitSignal: null, reason: detail });
  }

  // ---- the socket ----------------------------------------------------------------

  private async catchUp(ws: WebSocket, resumeFrom: number | null): Promise<void> {
    this.catchingUp = true;
    try {
      let from = this.ring.head;
      if (resumeFrom !== null && resumeFrom > this.ring.head) resumeFrom = null; // from a previous life of the server: start over
      if (resumeFrom !== null) {
        if (this.ring.covers(resumeFrom)) {
          from = resumeFrom;
        } else {
          // The gap is bigger than the ring: a screen snapshot, never raw bytes we no longer have.
          const snap = await this.screen.snapshot(this.ring);
          if (this.socket !== ws) return;
          this.send(ws, { type: "snapshot", seq: snap.seq, data: Buffer.from(snap.data, "utf8") });
          from = snap.seq;
        }
      }
      this.acked = from;
      this.sent = this.ring.head;
      this.sendOutput(ws, this.ring.since(from), from, true);
    } catch (err) {
      this.deps.log.error({ err, session: this.id }, "resume failed");
    } finally {
      if (this.socket === ws) this.catchingUp = false;
    }
    if (this.socket !== ws) return;
    this.sendStatus();
    if (this.endState) this.sendEnd(ws);
    this.updateFlow();
  }

  private sendStatus(): void {
    const ws = this.socket;
    if (!ws) return;
    const state = this.state;
    this.send(ws, { type: "status", state, ...(state === "connecting" ? { detail: "Opening an SSH session…" } : {}) });
  }

  private sendEnd(ws: WebSocket): void {
    const end = this.endState!;
    if (end.state === "ended" && (end.exitCode !== null || end.exitSignal !== null)) {
      this.send(ws, { type: "exit", code: end.exitCode, signal: end.exitSignal });
    }
    this.send(ws, { type: "status", state: end.state, detail: end.reason });
    if (ws.isPaused) ws.resume(); // a paused socket would never read the peer's close frame
    ws.close(CLOSE.normal, end.state);
  }

  private onMessage(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    if (this.socket !== ws) return;
    this.lastHeard = Date.now();
    try {
      if (!isBinary) throw new ProtocolError("bad_frame", "text frames are not part of the protocol");
      const frame = decodeClientFrame(data);
      switch (frame.type) {
        case "input":
          this.input(Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength));
          break;
        case "resize":
          this.resize(frame.cols, frame.rows);
          break;
        case "ack":
          this.acked = Math.max(this.acked, Math.min(frame.bytes, this.sent));
          this.updateFlow();
          break;
        case "ping":
          this.send(ws, { type: "pong", data: frame.data });
          break;
      }
    } catch (err) {
      // A broken client loses its socket; the session (and everyone else's) carries on.
      const pe = err instanceof ProtocolError ? err : new ProtocolError("bad_frame", "malformed frame");
      sendFrame(ws, { type: "error", code: pe.code, message: pe.message });
      this.detachSocket(ws);
      ws.close(pe.closeCode, pe.code);
    }
  }

  private onSocketClose(ws: WebSocket): void {
    if (this.socket !== ws) return;
    this.detachSocket(ws);
  }

  private detachSocket(ws: WebSocket): void {
    if (this.socket !== ws) return;
    this.socket = null;
    this.catchingUp = false;
    // A paused socket would never read the peer's close frame.
    if (ws.isPaused) ws.resume();
    this.dropQueuedOutput(); // a resuming socket replays these from the ring
    if (this.silenceTimer) clearInterval(this.silenceTimer);
    this.silenceTimer = null;
    // Nobody is watching: keep the program running and its output flowing into the ring.
    this.updateFlow();
    if (this.phase === "ended") this.scheduleDispose(ENDED_RETENTION_MS);
    else this.scheduleDispose(this.deps.graceMs);
  }

  private armSilenceTimer(): void {
    if (this.silenceTimer) clearInterval(this.silenceTimer);
    this.silenceTimer = setInterval(() => {
      // While input is paused we are not listening: silence then says nothing about the
      // socket, and the client's pings wait unread, so we speak first (an unasked pong
      // keeps the client from presuming us dead while a program ignores a paste).
      if (this.socket && this.inputPaused) sendFrame(this.socket, { type: "pong", data: new Uint8Array(0) });
      else if (this.socket && Date.now() - this.lastHeard > SOCKET_SILENCE_MS) this.socket.terminate();
    }, SOCKET_SILENCE_MS / 3);
    this.silenceTimer.unref();
  }

  // ---- input and size --------------------------------------------------------------

  private input(data: Buffer): void {
    this.bytesIn += data.length;
    this.touchIdle();
    if (this.phase === "ended") return;
    if (this.phase === "live" && this.conn) {
      // The callback runs once the channel has handed the bytes to SSH (within the
      // target's window): that is when reading the socket may start again.
      this.conn.channel.write(data, this.inputTaken);
    } else {
      // Typed before the shell is ready: held (a copy: the view would pin ws's whole
      // read buffer), then delivered in order.
      this.pendingInput.push(Buffer.from(data));
      this.pendingInputBytes += data.length;
    }
    const buffered = this.inputBuffered;
    if (buffered > (this.deps.inputCapBytes ?? DEFAULT_INPUT_CAP)) return this.inputOverflow(buffered);
    // Not before the first resize: the shell opens only once that frame is read.
    if (!this.inputPaused && buffered > INPUT_HIGH_WATER && this.phase !== "waiting-size") {
      // Backpressure to the browser: TCP stops, and the sender's socket buffer fills.
      this.inputPaused = true;
      this.socket?.pause();
      this.updateFlow();
    }
  }

  private readonly inputTaken = (): void => {
    if (!this.inputPaused || this.inputBuffered > INPUT_LOW_WATER) return;
    this.resumeInput();
  };

  private resumeInput(): void {
    if (!this.inputPaused) return;
    this.inputPaused = false;
    this.lastHeard = Date.now();
    this.socket?.resume();
    this.updateFlow();
  }

  /** More input waits than the cap allows: the session is closed, with an error frame that says why. */
  private inputOverflow(buffered: number): void {
    const cap = this.deps.inputCapBytes ?? DEFAULT_INPUT_CAP;
    const message = `Input arrived faster than the shell took it: ${Math.round(buffered / 1024)} KiB were waiting, above this server's limit of ${Math.round(cap / 1024)} KiB per session. The session was closed.`;
    this.deps.log.warn({ session: this.id, target: this.targetId, buffered, cap }, "terminal input over the cap: session closed");
    const ws = this.socket;
    if (ws) {
      this.flushOutput();
      sendFrame(ws, { type: "error", code: "input_overflow", message });
      this.detachSocket(ws);
      ws.close(CLOSE.inputOverflow, "input_overflow");
    }
    this.close(message);
  }

  private resize(cols: number, rows: number): void {
    if (cols === this.size.cols && rows === this.size.rows) return;
    this.size = { cols, rows };
    this.screen.resize(cols, rows);
    if (this.phase === "waiting-size") void this.start();
    else if (this.phase === "live") this.conn?.channel.setWindow(rows, cols, 0, 0);
  }

  // ---- the SSH side ----------------------------------------------------------------

  private async start(): Promise<void> {
    this.phase = "connecting";
    this.sendStatus();
    let conn: ShellConnection;
    try {
      conn = await this.deps.connect({ ...this.size });
    } catch (err) {
      const reason = err instanceof BridgeConnectError ? err.reason : "internal";
      const detail = err instanceof BridgeConnectError ? err.detail : err instanceof Error ? err.message : String(err);
      this.deps.log.warn({ session: this.id, target: this.targetId, reason, detail }, "terminal session could not reach its target");
      this.deps.onConnectFailed?.(reason, detail);
      if (this.socket) this.send(this.socket, { type: "error", code: "unreachable", message: UNREACHABLE_MESSAGE });
      this.finish({ state: "ended", exitCode: null, exitSignal: null, reason: UNREACHABLE_MESSAGE });
      return;
    }
    if (this.phase !== "connecting" || this.disposed) {
      conn.client.end();
      return;
    }
    this.conn = conn;
    const { client, channel } = conn;
    let exit: { code: number | null; signal: string | null } | null = null;
    channel.on("data", (chunk: Buffer) => this.output(chunk));
    channel.stderr.on("data", (chunk: Buffer) => this.output(chunk));
    channel.on("exit", (code: number | null, signal?: string) => {
      exit = { code: typeof code === "number" ? code : null, signal: signal ?? null };
    });
    channel.on("close", () => {
      if (exit) this.finish({ state: "ended", exitCode: exit.code, exitSignal: exit.signal, reason: exitReason(exit) });
      else void this.lost("The SSH channel closed without an exit status.");
    });
    client.on("error", (err) => void this.lost(err.message));
    client.on("close", () => void this.lost("The SSH connection closed."));

    // The size may have changed while we were connecting.
    channel.setWindow(this.size.rows, this.size.cols, 0, 0);
    this.phase = "live";
    this.deps.onOpened?.();
    const held = this.pendingInput;
    this.pendingInput = [];
    this.pendingInputBytes = 0;
    for (const b of held) channel.write(b, this.inputTaken);
    if (this.inputBuffered <= INPUT_LOW_WATER) this.resumeInput();
    this.touchIdle();
    this.sendStatus();
    this.updateFlow();
  }

  private async lost(detail: string): Promise<void> {
    if (this.phase === "ended") return;
    const live = await this.deps.targetIsLive().catch(() => false);
    if ((this.phase as Phase) === "ended") return; // ended meanwhile
    this.finish({
      state: "compute-stopped",
      exitCode: null,
      exitSignal: null,
      reason: live ? `The connection to the compute target was lost: ${detail}` : "The compute target stopped; this session has ended.",
    });
  }

  private output(chunk: Buffer): void {
    const seq = this.ring.head;
    const evicted = this.ring.push(chunk);
    if (evicted.length) this.screen.evicted(evicted, this.ring.start);
    this.bytesOut += chunk.length;
    if (this.socket && !this.catchingUp) this.queueOutput(chunk, seq);
    this.updateFlow();
  }

  private queueOutput(chunk: Buffer, seq: number): void {
    if (!this.outQueuedBytes) this.outQueueSeq = seq;
    this.outQueue.push(chunk);
    this.outQueuedBytes += chunk.length;
    // Queued bytes count as in flight: flow control sees them at once.
    this.sent = seq + chunk.length;
    if (this.outQueuedBytes >= OUTPUT_CHUNK_BYTES) this.flushOutput(true);
    if (!this.outQueuedBytes || this.flushTimer) return;
    // In a flood (a large frame went out a moment ago) the target's packets arrive a
    // few KiB per turn: waiting a couple of ms fills frames, where flushing every turn
    // made many small ones, each a socket write, a client parse and an ack. Typing
    // (small echoes, or the first output after a pause) still goes out this turn.
    const flood = this.lastFlushBytes >= FLOOD_FRAME_BYTES && performance.now() - this.lastFlushAt < FLOOD_COALESCE_MS;
    this.flushTimer = flood
      ? { timeout: setTimeout(() => this.flushOutput(false), FLOOD_COALESCE_MS) }
      : { immediate: setImmediate(() => this.flushOutput(false)) };
  }

  /** Sends the queued output; with `fullFramesOnly`, a partial last frame stays queued for more to join it. */
  private flushOutput(fullFramesOnly = false): void {
    if (!fullFramesOnly && this.flushTimer) this.clearFlushTimer();
    if (!this.outQueuedBytes || !this.socket) return;
    const n = fullFramesOnly ? this.outQueuedBytes - (this.outQueuedBytes % OUTPUT_CHUNK_BYTES) : this.outQueuedBytes;
    if (!n) return;
    const parts: Buffer[] = [];
    let taken = 0;
    while (taken < n) {
      const c = this.outQueue[0]!;
      const take = Math.min(c.length, n - taken);
      parts.push(take === c.length ? c : c.subarray(0, take));
      if (take === c.length) this.outQueue.shift();
      else this.outQueue[0] = c.subarray(take);
      taken += take;
    }
    const seq = this.outQueueSeq;
    this.outQueuedBytes -= n;
    this.outQueueSeq += n;
    this.lastFlushAt = performance.now();
    this.lastFlushBytes = n;
    this.sendOutput(this.socket, parts, seq, false);
  }

  private clearFlushTimer(): void {
    const t = this.flushTimer;
    this.flushTimer = null;
    if (!t) return;
    if ("timeout" in t) clearTimeout(t.timeout);
    else clearImmediate(t.immediate);
  }

  private dropQueuedOutput(): void {
    this.clearFlushTimer();
    this.outQueue = [];
    this.outQueuedBytes = 0;
  }

  /** Sends `parts` (the output from offset `seq` on) in frames of up to OUTPUT_CHUNK_BYTES. */
  private sendOutput(ws: WebSocket, parts: Buffer[], seq: number, replay: boolean): void {
    let frame: Buffer[] = [];
    let size = 0;
    let frameSeq = seq;
    const emit = () => {
      sendEncoded(ws, encodeOutputFrame(frameSeq, replay, frame), () => this.updateFlow());
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

  /** Any other frame for the socket: queued output goes first, so the order of the stream holds. */
  private send(ws: WebSocket, frame: ServerFrame): void {
    if (ws === this.socket) this.flushOutput();
    sendFrame(ws, frame);
  }

  /**
   * End-to-end backpressure: the target may send only as much as keeps the
   * unacknowledged output under the high-water mark (nothing while the socket
   * itself is full), through the channel's SSH window. Detached sessions run
   * ahead into the ring. Without window control, the stream is paused instead.
   */
  private updateFlow(): void {
    const channel = this.conn?.channel;
    if (!channel || this.phase !== "live") return;
    const ws = this.socket;
    const rw = this.conn?.window;
    if (rw) {
      // The target may send only what the browser can still take below the
      // high-water mark, so no more than that is ever queued between the pty and
      // xterm: Ctrl-C during a flood shows within a second.
      //
      // While input is paused the client's acks wait behind its input in the same TCP
      // stream: counting unacknowledged output then could deadlock a program that
      // echoes what it reads (a paste into `cat`), so only the socket's own buffer bounds it.
      const inFlight = this.inputPaused ? 0 : this.sent - this.acked;
      rw.allow(!ws ? DETACHED_WINDOW : ws.bufferedAmount > SOCKET_HIGH_WATER ? 0 : HIGH_WATER - inFlight);
      return;
    }
    let shouldPause = false;
    if (ws) {
      const inFlight = this.inputPaused ? 0 : this.sent - this.acked;
      const buffered = ws.bufferedAmount;
      shouldPause = this.paused ? inFlight > LOW_WATER || buffered > SOCKET_HIGH_WATER / 4 : inFlight > HIGH_WATER || buffered > SOCKET_HIGH_WATER;
    }
    if (shouldPause && !this.paused) {
      this.paused = true;
      channel.pause();
    } else if (!shouldPause && this.paused) {
      this.paused = false;
      channel.resume();
    }
  }

  // ---- ending --------------------------------------------------------------------

  private finish(end: Omit<SessionEnd, "bytesIn" | "bytesOut">): void {
    if (this.phase === "ended") return;
    this.phase = "ended";
    this.endState = { ...end, bytesIn: this.bytesIn, bytesOut: this.bytesOut };
    this.clearIdle();
    const conn = this.conn;
    this.conn = null;
    conn?.client.removeAllListeners("close");
    conn?.client.end();
    this.pendingInput = [];
    this.pendingInputBytes = 0;
    this.inputPaused = false;
    this.deps.onEnded?.(this.endState);
    this.deps.log.info(
      { session: this.id, target: this.targetId, state: end.state, exitCode: end.exitCode, bytesIn: this.bytesIn, bytesOut: this.bytesOut },
      "terminal session ended",
    );
    if (this.socket && !this.catchingUp) {
      const ws = this.socket;
      this.sendEnd(ws);
    }
    if (!this.socket) this.scheduleDispose(ENDED_RETENTION_MS);
  }

  private scheduleDispose(ms: number): void {
    this.clearGrace();
    this.graceTimer = setTimeout(() => {
      if (this.phase !== "ended") this.finish({ state: "ended", exitCode: null, exitSignal: null, reason: "The session expired after its grace period." });
      this.dispose();
    }, ms);
    this.graceTimer.unref();
  }

  private clearGrace(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
  }

  private dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.clearGrace();
    this.clearIdle();
    if (this.silenceTimer) clearInterval(this.silenceTimer);
    this.dropQueuedOutput();
    this.screen.dispose();
    const ws = this.socket;
    this.socket = null;
    if (ws?.isPaused) ws.resume();
    if (ws && ws.readyState === ws.OPEN) ws.close(CLOSE.normal, "session closed");
    this.deps.onDisposed();
  }

  // ---- idle timeout ----------------------------------------------------------------

  private touchIdle(): void {
    const timeout = this.deps.idleTimeoutMs;
    if (!timeout || this.phase === "ended") return;
    this.clearIdle();
    const warnBefore = Math.min(60_000, timeout / 5);
    this.idleWarnTimer = setTimeout(() => {
      if (this.socket) {
        this.send(this.socket, {
          type: "status",
          state: "idle-warning",
          detail: `No input for a while: this session ends in ${Math.round(warnBefore / 1000)} s unless you type something.`,
        });
      }
    }, timeout - warnBefore);
    this.idleTimer = setTimeout(() => {
      this.finish({ state: "ended", exitCode: null, exitSignal: null, reason: "The session ended after the idle timeout." });
      if (!this.socket) this.dispose();
    }, timeout);
    this.idleWarnTimer.unref();
    this.idleTimer.unref();
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.idleWarnTimer) clearTimeout(this.idleWarnTimer);
    this.idleTimer = this.idleWarnTimer = null;
  }
}

function exitReason(exit: { code: number | null; signal: string | null }): string {
  if (exit.signal) return `The shell was killed by SIG${exit.signal}.`;
  return `The shell exited with code ${exit.code ?? "?"}.`;
}

export function sendFrame(ws: WebSocket, frame: ServerFrame, cb?: () => void): void {
  sendEncoded(ws, encodeServerFrame(frame), cb);
}

function sendEncoded(ws: WebSocket, bytes: Uint8Array, cb?: () => void): void {
  if (ws.readyState !== ws.OPEN) return;
  ws.send(bytes, { binary: true }, cb ? () => cb() : undefined);
}
