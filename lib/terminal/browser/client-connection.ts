// The browser's side of a terminal session: tickets, the socket, acknowledgements,
// held keystrokes, pings and reconnection with backoff. No React and no xterm here:
// the view feeds it input and sizes and tells it what xterm has processed.
import type { TerminalTicket } from "@/lib/http/contract";
import { CLOSE, decodeServerFrame, encodeClientFrame, type ClientFrame, type ServerFrame } from "@/lib/terminal/protocol";
import { ByteQueue } from "@/lib/util/byte-queue";
import { FINAL, type ConnectionStatus } from "./status";
import { requestTicket } from "./ticket";

export interface ConnectionEvents {
  /** Bytes to write into the terminal; call `processed(seq + data.length)` from xterm's write callback. */
  output(data: Uint8Array, seq: number, replay: boolean): void;
  /** Reset the terminal, then write this serialized screen. */
  snapshot(data: Uint8Array, seq: number): void;
  status(status: ConnectionStatus): void;
  idleWarning(detail: string): void;
  /** The server assigned (or confirmed) the session id: persist it to resume after a reload. */
  session(sessionId: string): void;
}

export interface ConnectionOptions {
  workspaceId: string;
  targetId: string;
  /** Resume this session (after a reload); otherwise a new one is opened. */
  sessionId?: string | null;
  events: ConnectionEvents;
}

const PING_EVERY_MS = 25_000;
const DEAD_AFTER_MS = 60_000;
const ACK_EVERY_BYTES = 32 * 1024;
const ACK_DELAY_MS = 20;
const MAX_HELD_INPUT = 64 * 1024;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export class TerminalConnection {
  private ws: WebSocket | null = null;
  private sessionId: string | null;
  private statusValue: ConnectionStatus = { kind: "connecting" };
  /** Output offset received so far (what we resume from). */
  private received = 0;
  private processedOffset = 0;
  private ackedOffset = 0;
  private ackTimer: ReturnType<typeof setTimeout> | null = null;
  /** Keystrokes typed while not live, delivered in order once live. */
  private readonly held = new ByteQueue();
  private size: { cols: number; rows: number } | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private lastHeard = 0;
  private disposed = false;
  private pendingExit: { code: number | null; signal: string | null } | null = null;
  /** The last error frame's message: a closing socket's reason is limited to 123 bytes. */
  private lastError: string | null = null;

  constructor(private readonly opts: ConnectionOptions) {
    this.sessionId = opts.sessionId ?? null;
  }

  get status(): ConnectionStatus {
    return this.statusValue;
  }

  get currentSessionId(): string | null {
    return this.sessionId;
  }

  /** Opens (or resumes) the session. */
  start(): void {
    void this.connect();
  }

  /** Skips the backoff wait. */
  retryNow(): void {
    if (this.statusValue.kind !== "reconnecting" && this.statusValue.kind !== "limited") return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    void this.connect();
  }

  input(data: string | Uint8Array): void {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    if (bytes.byteLength === 0) return;
    // Held while not live (connecting, reconnecting), delivered in order once live.
    if (this.statusValue.kind === "live" && this.ws?.readyState === WebSocket.OPEN) {
      for (let off = 0; off < bytes.byteLength; off += 32 * 1024) this.send({ type: "input", data: bytes.subarray(off, off + 32 * 1024) });
      return;
    }
    if (FINAL.has(this.statusValue.kind)) return;
    if (this.held.size + bytes.byteLength > MAX_HELD_INPUT) return;
    this.held.push(bytes);
  }

  resize(cols: number, rows: number): void {
    if (cols < 1 || rows < 1) return; // hidden or collapsed: not a real size
    if (this.size && this.size.cols === cols && this.size.rows === rows) return;
    this.size = { cols, rows };
    if (this.ws?.readyState === WebSocket.OPEN) this.send({ type: "resize", cols, rows });
  }

  /** xterm has parsed output up to `offset`. */
  processed(offset: number): void {
    if (offset <= this.processedOffset) return;
    this.processedOffset = offset;
    if (this.processedOffset - this.ackedOffset >= ACK_EVERY_BYTES) this.flushAck();
    else if (!this.ackTimer) this.ackTimer = setTimeout(() => this.flushAck(), ACK_DELAY_MS);
  }

  /** Ends the session on the server too (the tab was closed). */
  async close(): Promise<void> {
    const id = this.sessionId;
    this.dispose();
    if (id) {
      await fetch(`/api/workspaces/${this.opts.workspaceId}/terminal/sessions/${id}`, { method: "DELETE" }).catch(() => undefined);
    }
  }

  /** Drops the socket but leaves the session running on the server (page unload). */
  dispose(): void {
    this.disposed = true;
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(CLOSE.normal, "client gone");
  }

  // ---- internals -------------------------------------------------------------------

  private setStatus(s: ConnectionStatus): void {
    this.statusValue = s;
    this.opts.events.status(s);
  }

  private async connect(): Promise<void> {
    if (this.disposed) return;
    const resuming = this.sessionId !== null;
    if (this.statusValue.kind !== "reconnecting") this.setStatus({ kind: "connecting" });
    let ticket: TerminalTicket;
    try {
      const answer = await requestTicket(this.opts.workspaceId, this.opts.targetId, this.sessionId);
      if ("refused" in answer) return this.setStatus(answer.refused);
      ticket = answer.ticket;
    } catch (err) {
      return this.scheduleReconnect(err instanceof Error ? err.message : "network error");
    }
    if (this.disposed) return;
    this.sessionId = ticket.sessionId;
    this.opts.events.session(ticket.sessionId);

    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({ ticket: ticket.ticket, ...(resuming ? { resume: String(this.received) } : {}) });
    const ws = new WebSocket(`${proto}//${location.host}${ticket.path}?${query}`);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.pendingExit = null;
    this.lastError = null;

    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
      // The size goes first: the shell opens at the real size.
      if (this.size) this.send({ type: "resize", ...this.size });
      this.ackedOffset = this.processedOffset = this.received;
      this.startPings();
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.ws !== ws || !(ev.data instanceof ArrayBuffer)) return;
      this.lastHeard = Date.now();
      let frame: ServerFrame;
      try {
        frame = decodeServerFrame(ev.data);
      } catch {
        return; // a frame from a newer server; ignore rather than break the session
      }
      this.onFrame(frame);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.clearTimers();
      if (this.disposed || FINAL.has(this.statusValue.kind)) return;
      if (ev.code === CLOSE.policy || ev.code === CLOSE.tooBig || ev.code === CLOSE.inputOverflow) {
        return this.setStatus({ kind: "failed", detail: this.lastError ?? (ev.reason || "The server closed the terminal (protocol error).") });
      }
      this.scheduleReconnect(ev.reason || "connection lost");
    };
  }

  private onFrame(f: ServerFrame): void {
    switch (f.type) {
      case "output": {
        // Drop bytes we already have (an overlap after resume); never write twice.
        let data = f.data;
        let seq = f.seq;
        if (seq + data.byteLength <= this.received) return;
        if (seq < this.received) {
          data = data.subarray(this.received - seq);
          seq = this.received;
        }
        this.received = seq + data.byteLength;
        this.opts.events.output(data, seq, f.replay);
        return;
      }
      case "snapshot":
        this.received = f.seq;
        this.processedOffset = this.ackedOffset = f.seq;
        this.opts.events.snapshot(f.data, f.seq);
        return;
      case "status":
        switch (f.state) {
          case "live":
            this.attempt = 0;
            this.setStatus({ kind: "live" });
            this.flushHeld();
            return;
          case "connecting":
            if (this.statusValue.kind !== "reconnecting") this.setStatus({ kind: "connecting", ...(f.detail ? { detail: f.detail } : {}) });
            return;
          case "ended":
            return this.setStatus({
              kind: "ended",
              exitCode: this.pendingExit?.code ?? null,
              signal: this.pendingExit?.signal ?? null,
              ...(f.detail ? { detail: f.detail } : {}),
            });
          case "expired":
            return this.setStatus({ kind: "expired", ...(f.detail ? { detail: f.detail } : {}) });
          case "compute-stopped":
            return this.setStatus({ kind: "compute-stopped", ...(f.detail ? { detail: f.detail } : {}) });
          case "idle-warning":
            this.opts.events.idleWarning(f.detail ?? "This session will end soon for inactivity.");
            return;
          case "taken-over":
            this.dispose();
            return this.setStatus({ kind: "failed", detail: f.detail ?? "This session was opened in another tab." });
        }
        return;
      case "exit":
        this.pendingExit = { code: f.code, signal: f.signal };
        return;
      case "error":
        this.lastError = f.message;
        if (this.statusValue.kind !== "live") this.setStatus({ kind: "failed", detail: f.message });
        return;
      case "pong":
        return;
    }
  }

  private flushHeld(): void {
    for (const b of this.held.clear()) this.input(b);
  }

  private flushAck(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    if (this.processedOffset <= this.ackedOffset || this.ws?.readyState !== WebSocket.OPEN) return;
    this.ackedOffset = this.processedOffset;
    this.send({ type: "ack", bytes: this.ackedOffset });
  }

  private send(frame: ClientFrame): void {
    this.ws?.send(encodeClientFrame(frame));
  }

  private startPings(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      const ws = this.ws;
      if (!ws) return;
      if (Date.now() - this.lastHeard > DEAD_AFTER_MS) {
        ws.close(4000, "no answer from the server");
        return;
      }
      this.send({ type: "ping", data: new Uint8Array(0) });
    }, PING_EVERY_MS);
  }

  private scheduleReconnect(reason: string): void {
    if (this.disposed) return;
    this.attempt += 1;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (this.attempt - 1)) * (0.8 + Math.random() * 0.4);
    const retryAt = Date.now() + delay;
    this.setStatus({ kind: "reconnecting", attempt: this.attempt, retryAt, reason });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
  }

  private clearTimers(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.ackTimer) clearTimeout(this.ackTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.pingTimer = this.ackTimer = this.retryTimer = null;
  }
}
