// A session's hold on one browser socket: client frames decoded and handed over, a
// broken client answered with an error frame and a close, and a silent socket
// presumed dead.
import type { WebSocket } from "ws";
import { ProtocolError, decodeClientFrame, type ClientFrame } from "../protocol";
import { sendFrame } from "./output";

/** A socket we have not heard from (the client pings every ~25 s) is presumed dead. */
const SOCKET_SILENCE_MS = 75_000;

export interface SocketHandlers {
  frame(frame: ClientFrame): void;
  /** The socket failed (a broken client, too much input): the session lets go of it, then it is closed. */
  broken(): void;
  closed(): void;
  /** The socket is paused because input waits for the shell: we are not listening. */
  inputPaused(): boolean;
}

export class SocketBinding {
  private lastHeard = Date.now();
  private silenceTimer: NodeJS.Timeout | null;
  private bound = true;

  constructor(
    readonly ws: WebSocket,
    private readonly on: SocketHandlers,
  ) {
    ws.on("message", (data, isBinary) => this.message(data as Buffer, isBinary));
    ws.on("close", () => this.bound && this.on.closed());
    ws.on("error", () => undefined);
    this.silenceTimer = setInterval(() => {
      // While input is paused we are not listening: silence then says nothing about the
      // socket, and the client's pings wait unread, so we speak first (an unasked pong
      // keeps the client from presuming us dead while a program ignores a paste).
      if (this.on.inputPaused()) sendFrame(ws, { type: "pong", data: new Uint8Array(0) });
      else if (Date.now() - this.lastHeard > SOCKET_SILENCE_MS) ws.terminate();
    }, SOCKET_SILENCE_MS / 3);
    this.silenceTimer.unref();
  }

  /** Reading the socket again counts as hearing from it. */
  heard(): void {
    this.lastHeard = Date.now();
  }

  /** The session no longer listens to this socket (it may still write to it). */
  unbind(): void {
    this.bound = false;
    if (this.silenceTimer) clearInterval(this.silenceTimer);
    this.silenceTimer = null;
  }

  private message(data: Buffer, isBinary: boolean): void {
    if (!this.bound) return;
    this.lastHeard = Date.now();
    try {
      if (!isBinary) throw new ProtocolError("bad_frame", "text frames are not part of the protocol");
      this.on.frame(decodeClientFrame(data));
    } catch (err) {
      // A broken client loses its socket; the session (and everyone else's) carries on.
      const pe = err instanceof ProtocolError ? err : new ProtocolError("bad_frame", "malformed frame");
      this.fail(pe.code, pe.message, pe.closeCode);
    }
  }

  /** Ends this socket with an error frame and `closeCode`, after the session let it go. */
  fail(code: string, message: string, closeCode: number): void {
    sendFrame(this.ws, { type: "error", code, message });
    this.on.broken();
    this.ws.close(closeCode, code);
  }
}
