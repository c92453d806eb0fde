// One terminal session: an SSH shell on a target, bridged to at most one browser
// socket at a time. It outlives a dropped socket for a grace period, keeping its
// output in a bounded ring so the client can resume with exactly the bytes it missed.
// Here: its phases, its socket and its end; output, input, flow control and idle timeout are modules beside it.
import type { WebSocket } from "ws";
import { CLOSE, type ClientFrame, type SessionState } from "../protocol";
import { flowControlFor, type FlowControl } from "./flow-control";
import { IdleTimeout } from "./idle-timeout";
import { DEFAULT_INPUT_CAP, SessionInput } from "./input";
import { SessionOutput, endSocket } from "./output";
import { UNREACHABLE_MESSAGE, connectFailure, lostReason, watchShell } from "./shell-channel";
import type { SessionDeps, SessionEnd, ShellConnection } from "./session-deps";
import { SocketBinding } from "./socket-binding";

/** How long an ended session is kept so a reconnecting client learns how it ended. */
const ENDED_RETENTION_MS = 60_000;

type Phase = "waiting-size" | "connecting" | "live" | "ended";

export class TerminalSession {
  private phase: Phase = "waiting-size";
  private endState: SessionEnd | null = null;
  private conn: ShellConnection | null = null;
  private flow: FlowControl | null = null;
  private size = { cols: 0, rows: 0 };
  private readonly out: SessionOutput;
  private readonly in: SessionInput;
  private readonly idle: IdleTimeout;
  private socket: WebSocket | null = null;
  private binding: SocketBinding | null = null;
  /** While a resuming socket is being caught up, live output only goes to the ring. */
  private catchingUp = false;
  private bytesIn = 0;
  private graceTimer: NodeJS.Timeout | null = null;
  private disposed = false;

  constructor(
    readonly id: string,
    readonly workspaceId: string,
    readonly targetId: string,
    private readonly deps: SessionDeps,
  ) {
    this.out = new SessionOutput(deps.resumeBufferBytes, { socket: () => this.socket, frameSent: () => this.updateFlow() });
    this.in = new SessionInput(deps.inputCapBytes ?? DEFAULT_INPUT_CAP, {
      pause: () => this.readSocket(false),
      resume: () => this.readSocket(true),
      overflow: (buffered) => this.inputOverflow(buffered),
    });
    this.idle = new IdleTimeout(deps.idleTimeoutMs, {
      warn: (detail) => {
        if (this.socket) this.out.send(this.socket, { type: "status", state: "idle-warning", detail });
      },
      expire: () => {
        this.finish({ state: "ended", exitCode: null, exitSignal: null, reason: "The session ended after the idle timeout." });
        if (!this.socket) this.dispose();
      },
    });
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
    return { bytesIn: this.bytesIn, bytesOut: this.out.head };
  }

  /** Input taken from the socket that the SSH channel has not taken yet (held or queued behind its window). */
  get inputBuffered(): number {
    return this.in.buffered;
  }

  /** Binds a socket. `resumeFrom` is the client's output offset, or null for a fresh terminal. */
  attach(ws: WebSocket, resumeFrom: number | null): void {
    if (this.disposed) {
      return endSocket(ws, "expired", "This session no longer exists.");
    }
    if (this.socket) {
      const old = this.socket;
      this.detachSocket(old);
      endSocket(old, "taken-over", "This session was opened elsewhere.");
    }
    this.clearGrace();
    this.socket = ws;
    if (this.in.paused) ws.pause(); // the input of the socket it replaces is still waiting
    this.binding = new SocketBinding(ws, {
      frame: (frame) => this.onFrame(ws, frame),
      broken: () => this.detachSocket(ws),
      closed: () => this.detachSocket(ws),
      inputPaused: () => this.in.paused,
    });
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
    await this.out.replay(ws, resumeFrom).catch((err: unknown) => this.deps.log.error({ err, session: this.id }, "resume failed"));
    if (this.socket !== ws) return;
    this.catchingUp = false;
    this.sendStatus();
    if (this.endState) this.out.sendEnd(ws, this.endState);
    this.updateFlow();
  }

  private sendStatus(): void {
    const ws = this.socket;
    if (!ws) return;
    const state = this.state;
    this.out.send(ws, { type: "status", state, ...(state === "connecting" ? { detail: "Opening an SSH session…" } : {}) });
  }

  private onFrame(ws: WebSocket, frame: ClientFrame): void {
    switch (frame.type) {
      case "input":
        this.input(Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength));
        break;
      case "resize":
        this.resize(frame.cols, frame.rows);
        break;
      case "ack":
        this.out.ack(frame.bytes);
        this.updateFlow();
        break;
      case "ping":
        this.out.send(ws, { type: "pong", data: frame.data });
        break;
    }
  }

  private detachSocket(ws: WebSocket): void {
    if (this.socket !== ws) return;
    this.socket = null;
    this.catchingUp = false;
    // A paused socket would never read the peer's close frame.
    if (ws.isPaused) ws.resume();
    this.out.dropQueued();
    this.binding?.unbind();
    this.binding = null;
    // Nobody is watching: keep the program running and its output flowing into the ring.
    this.updateFlow();
    if (this.phase === "ended") this.scheduleDispose(ENDED_RETENTION_MS);
    else this.scheduleDispose(this.deps.graceMs);
  }

  // ---- input and size --------------------------------------------------------------

  /** Input flow control: stop or start reading the socket. */
  private readSocket(on: boolean): void {
    if (on) this.binding?.heard();
    if (on) this.socket?.resume();
    else this.socket?.pause();
    this.updateFlow();
  }

  private input(data: Buffer): void {
    this.bytesIn += data.length;
    if (this.phase === "ended") return;
    this.idle.touch();
    // Not paused before the first resize: the shell opens only once that frame is read.
    this.in.push(data, this.phase !== "waiting-size");
  }

  /** More input waits than the cap allows: the session is closed, with an error frame that says why. */
  private inputOverflow(buffered: number): void {
    const message = this.in.overflowMessage(buffered);
    this.deps.log.warn({ session: this.id, target: this.targetId, buffered, cap: this.in.cap }, "terminal input over the cap: session closed");
    this.out.flush();
    this.binding?.fail("input_overflow", message, CLOSE.inputOverflow);
    this.close(message);
  }

  private resize(cols: number, rows: number): void {
    if (cols === this.size.cols && rows === this.size.rows) return;
    this.size = { cols, rows };
    this.out.resize(cols, rows);
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
      const { reason, detail } = connectFailure(err);
      this.deps.log.warn({ session: this.id, target: this.targetId, reason, detail }, "terminal session could not reach its target");
      this.deps.onConnectFailed?.(reason, detail);
      if (this.socket) this.out.send(this.socket, { type: "error", code: "unreachable", message: UNREACHABLE_MESSAGE });
      this.finish({ state: "ended", exitCode: null, exitSignal: null, reason: UNREACHABLE_MESSAGE });
      return;
    }
    if (this.phase !== "connecting" || this.disposed) {
      conn.client.end();
      return;
    }
    this.conn = conn;
    this.flow = flowControlFor(conn);
    watchShell(conn, {
      output: (chunk) => this.output(chunk),
      exited: (exitCode, exitSignal, reason) => this.finish({ state: "ended", exitCode, exitSignal, reason }),
      lost: (detail) => void this.lost(detail),
    });
    // The size may have changed while we were connecting.
    conn.channel.setWindow(this.size.rows, this.size.cols, 0, 0);
    this.phase = "live";
    this.deps.onOpened?.();
    this.in.open(conn.channel);
    this.idle.touch();
    this.sendStatus();
    this.updateFlow();
  }

  private async lost(detail: string): Promise<void> {
    if (this.phase === "ended") return;
    const reason = await lostReason(this.deps, detail);
    if ((this.phase as Phase) !== "ended") this.finish({ state: "compute-stopped", exitCode: null, exitSignal: null, reason }); // unless it ended meanwhile
  }

  private output(chunk: Buffer): void {
    this.out.push(chunk, this.socket !== null && !this.catchingUp);
    this.updateFlow();
  }

  private updateFlow(): void {
    if (!this.conn || this.phase !== "live") return;
    this.flow?.update({ socket: this.socket, unacked: this.out.unacked, inputPaused: this.in.paused });
  }

  // ---- ending --------------------------------------------------------------------

  private finish(end: Omit<SessionEnd, "bytesIn" | "bytesOut">): void {
    if (this.phase === "ended") return;
    this.phase = "ended";
    this.endState = { ...end, ...this.counts };
    this.idle.clear();
    const conn = this.conn;
    this.conn = null;
    conn?.client.removeAllListeners("close");
    conn?.client.end();
    this.in.close();
    this.deps.onEnded?.(this.endState);
    this.deps.log.info({ session: this.id, target: this.targetId, state: end.state, exitCode: end.exitCode, ...this.counts }, "terminal session ended");
    if (this.socket && !this.catchingUp) this.out.sendEnd(this.socket, this.endState);
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
    this.idle.clear();
    this.binding?.unbind();
    this.binding = null;
    this.out.dispose();
    const ws = this.socket;
    this.socket = null;
    if (ws?.isPaused) ws.resume();
    if (ws && ws.readyState === ws.OPEN) ws.close(CLOSE.normal, "session closed");
    this.deps.onDisposed();
  }
}
