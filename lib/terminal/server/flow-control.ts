// Output flow control, end to end: the target may send only as much as keeps the
// output the browser has not acknowledged under a high-water mark (nothing while the
// socket itself is full). Two strategies: granting the channel's SSH receive window
// when the bridge controls it, pausing the stream otherwise.
import type { ClientChannel } from "ssh2";
import type { WebSocket } from "ws";
import type { ReceiveWindow } from "@/lib/ssh/bridge";

/** Output sent but not yet acknowledged above this stops the target (both strategies). */
export const HIGH_WATER = 512 * 1024;

export interface FlowState {
  /** The attached socket; null while detached. */
  socket: WebSocket | null;
  /** Output sent (or queued for the socket) and not yet acknowledged. */
  unacked: number;
  /** The socket is paused because input waits for the SSH channel. */
  inputPaused: boolean;
}

export interface FlowControl {
  update(state: FlowState): void;
}

/**
 * While input is paused the client's acks wait behind its input in the same TCP
 * stream: counting unacknowledged output then could deadlock a program that echoes
 * what it reads (a paste into `cat`), so only the socket's own buffer bounds it.
 */
function inFlight(s: FlowState): number {
  return s.inputPaused ? 0 : s.unacked;
}

/**
 * The target may send only what the browser can still take below the high-water
 * mark, so no more than that is ever queued between the pty and xterm: Ctrl-C during
 * a flood shows within a second. Detached sessions run ahead into the ring.
 */
export class WindowFlow implements FlowControl {
  /** No window while the socket itself has this much queued. */
  static readonly SOCKET_HIGH_WATER = 1024 * 1024;
  /** With no socket attached, the target may run this far ahead (into the ring). */
  static readonly DETACHED_WINDOW = 1024 * 1024;

  constructor(private readonly window: ReceiveWindow) {}

  update(s: FlowState): void {
    const ws = s.socket;
    this.window.allow(!ws ? WindowFlow.DETACHED_WINDOW : ws.bufferedAmount > WindowFlow.SOCKET_HIGH_WATER ? 0 : HIGH_WATER - inFlight(s));
  }
}

/**
 * Without window control the stream is paused instead, with hysteresis; ssh2 then
 * still takes in up to its own window behind the pause.
 */
export class PauseFlow implements FlowControl {
  /** Resume once unacknowledged output is down to this... */
  static readonly LOW_WATER = 128 * 1024;
  /** ...and the socket's own queue below this; pause when it is above SOCKET_HIGH_WATER. */
  static readonly SOCKET_LOW_WATER = 256 * 1024;
  static readonly SOCKET_HIGH_WATER = 1024 * 1024;
  private paused = false;

  constructor(private readonly channel: Pick<ClientChannel, "pause" | "resume">) {}

  update(s: FlowState): void {
    let shouldPause = false;
    const ws = s.socket;
    if (ws) {
      const n = inFlight(s);
      const buffered = ws.bufferedAmount;
      shouldPause = this.paused ? n > PauseFlow.LOW_WATER || buffered > PauseFlow.SOCKET_LOW_WATER : n > HIGH_WATER || buffered > PauseFlow.SOCKET_HIGH_WATER;
    }
    if (shouldPause && !this.paused) {
      this.paused = true;
      this.channel.pause();
    } else if (!shouldPause && this.paused) {
      this.paused = false;
      this.channel.resume();
    }
  }
}

export function flowControlFor(conn: { channel: Pick<ClientChannel, "pause" | "resume">; window?: ReceiveWindow }): FlowControl {
  return conn.window ? new WindowFlow(conn.window) : new PauseFlow(conn.channel);
}
