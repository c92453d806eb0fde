// The terminal wire protocol, shared by the browser and the server: binary
// WebSocket frames, one type byte then a payload. Every frame is validated here.
//
// client → server                      server → client
//   0x01 input   bytes                   0x81 output   f64 seq, u8 flags, bytes
//   0x02 resize  u16 cols, u16 rows      0x82 status   JSON { state, detail? }
//   0x03 ack     f64 bytes processed     0x83 exit     JSON { code, signal }
//   0x04 ping    ≤ 64 opaque bytes       0x84 error    JSON { code, message }
//                                        0x85 pong     the ping's bytes (or, unasked, empty:
//                                                      a keepalive while input is paused)
//                                        0x86 snapshot f64 seq, serialized screen
//
// `seq` is the offset of a frame's first byte in the session's output stream; an
// ack carries the offset up to which the client has processed output (cumulative,
// so a resumed socket needs no extra bookkeeping). Offsets stay below 2^53.

import { BrandedError } from "@/lib/util/branded-error";

export const TERMINAL_PATH = "/ws/terminal";
export const MAX_FRAME_BYTES = 64 * 1024;
export const MAX_DIMENSION = 1000;
/**
 * Output payload per frame (server → client; MAX_FRAME_BYTES bounds what clients
 * send). In a CPU profile of a flood, the socket writes were the bridge's largest
 * cost, per frame rather than per byte: 64 KiB frames halve them (and the acks).
 */
export const OUTPUT_CHUNK_BYTES = 64 * 1024;

export const C2S = { input: 0x01, resize: 0x02, ack: 0x03, ping: 0x04 } as const;
export const S2C = { output: 0x81, status: 0x82, exit: 0x83, error: 0x84, pong: 0x85, snapshot: 0x86 } as const;

/** Output flag: these bytes are a replay of output already produced; the client must not answer queries in them. */
export const OUTPUT_REPLAY = 0x01;

export type SessionState =
  | "connecting" // SSH session being opened
  | "live"
  | "ended" // the shell exited, or the session was closed
  | "expired" // the session no longer exists (grace period over, or never existed)
  | "compute-stopped" // the target went away
  | "idle-warning" // the idle timeout will end the session soon
  | "taken-over"; // another socket resumed this session

export type ClientFrame =
  { type: "input"; data: Uint8Array } | { type: "resize"; cols: number; rows: number } | { type: "ack"; bytes: number } | { type: "ping"; data: Uint8Array };

export type ServerFrame =
  | { type: "output"; seq: number; replay: boolean; data: Uint8Array }
  | { type: "status"; state: SessionState; detail?: string }
  | { type: "exit"; code: number | null; signal: string | null }
  | { type: "error"; code: string; message: string }
  | { type: "pong"; data: Uint8Array }
  | { type: "snapshot"; seq: number; data: Uint8Array };

/**
 * WebSocket close codes the protocol uses. 4009: the session's input went over the
 * server's cap (MESHIA_TERMINAL_INPUT_CAP) and the session was closed; an error frame
 * with code "input_overflow" says so first.
 */
export const CLOSE = { normal: 1000, policy: 1008, tooBig: 1009, inputOverflow: 4009 } as const;

export class ProtocolError extends BrandedError {
  static override readonly brand: string = "ProtocolError";
  constructor(
    readonly code: "bad_frame" | "frame_too_large" | "bad_size",
    message: string,
    readonly closeCode: number = code === "frame_too_large" ? CLOSE.tooBig : CLOSE.policy,
  ) {
    super(message);
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

function asBytes(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** Node's Buffer when there is one: no zero-filling of bytes about to be overwritten. */
const NodeBuffer = (globalThis as { Buffer?: { allocUnsafe(n: number): Uint8Array } }).Buffer;

function frame(type: number, payloadLength: number): { bytes: Uint8Array; view: DataView } {
  // Every byte is written by the encoder, so skipping the zero fill is safe.
  const raw = NodeBuffer?.allocUnsafe(1 + payloadLength);
  const bytes = raw ? new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) : new Uint8Array(1 + payloadLength);
  bytes[0] = type;
  return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

function withPayload(type: number, payload: Uint8Array): Uint8Array {
  const { bytes } = frame(type, payload.byteLength);
  bytes.set(payload, 1);
  return bytes;
}

function jsonFrame(type: number, value: unknown): Uint8Array {
  return withPayload(type, enc.encode(JSON.stringify(value)));
}

function checkOffset(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

// ---- client → server ------------------------------------------------------------

export function encodeClientFrame(f: ClientFrame): Uint8Array {
  switch (f.type) {
    case "input":
      return withPayload(C2S.input, f.data);
    case "resize": {
      const { bytes, view } = frame(C2S.resize, 4);
      view.setUint16(1, f.cols);
      view.setUint16(3, f.rows);
      return bytes;
    }
    case "ack": {
      const { bytes, view } = frame(C2S.ack, 8);
      view.setFloat64(1, f.bytes);
      return bytes;
    }
    case "ping":
      return withPayload(C2S.ping, f.data);
  }
}

/** Validates and decodes one client frame; throws ProtocolError for anything malformed. */
export function decodeClientFrame(data: ArrayBuffer | ArrayBufferView): ClientFrame {
  const bytes = asBytes(data);
  if (bytes.byteLength > MAX_FRAME_BYTES) throw new ProtocolError("frame_too_large", `frames are limited to ${MAX_FRAME_BYTES} bytes`);
  if (bytes.byteLength < 1) throw new ProtocolError("bad_frame", "empty frame");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = bytes[0];
  const payload = bytes.subarray(1);
  switch (type) {
    case C2S.input:
      return { type: "input", data: payload };
    case C2S.resize: {
      if (payload.byteLength !== 4) throw new ProtocolError("bad_frame", "resize takes exactly 4 bytes");
      const cols = view.getUint16(1);
      const rows = view.getUint16(3);
      if (cols < 1 || cols > MAX_DIMENSION || rows < 1 || rows > MAX_DIMENSION) {
        throw new ProtocolError("bad_size", `cols and rows must be within 1..${MAX_DIMENSION}`);
      }
      return { type: "resize", cols, rows };
    }
    case C2S.ack: {
      if (payload.byteLength !== 8) throw new ProtocolError("bad_frame", "ack takes exactly 8 bytes");
      const n = view.getFloat64(1);
      if (!checkOffset(n)) throw new ProtocolError("bad_frame", "ack must be a non-negative integer");
      return { type: "ack", bytes: n };
    }
    case C2S.ping:
      if (payload.byteLength > 64) throw new ProtocolError("bad_frame", "ping payload is limited to 64 bytes");
      return { type: "ping", data: payload };
    default:
      throw new ProtocolError("bad_frame", `unknown frame type ${type}`);
  }
}

// ---- server → client ------------------------------------------------------------

/** Bytes of an output frame before its payload: type, seq, flags. */
export const OUTPUT_HEADER_BYTES = 10;

/**
 * An output frame whose bytes are `parts` back to back: coalesced output costs one
 * copy, straight into the frame. With `into` (at least OUTPUT_HEADER_BYTES plus the
 * parts' length), the frame is written there and a view of it returned: a sender
 * that reuses its frame buffers allocates nothing per frame.
 */
export function encodeOutputFrame(seq: number, replay: boolean, parts: readonly Uint8Array[], into?: Uint8Array): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.byteLength;
  let bytes: Uint8Array;
  let view: DataView;
  if (into) {
    if (into.byteLength < OUTPUT_HEADER_BYTES + length) throw new RangeError("output frame buffer too small");
    bytes = into.subarray(0, OUTPUT_HEADER_BYTES + length);
    bytes[0] = S2C.output;
    view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } else {
    ({ bytes, view } = frame(S2C.output, 9 + length));
  }
  view.setFloat64(1, seq);
  bytes[9] = replay ? OUTPUT_REPLAY : 0;
  let off = 10;
  for (const p of parts) {
    bytes.set(p, off);
    off += p.byteLength;
  }
  return bytes;
}

export function encodeServerFrame(f: ServerFrame): Uint8Array {
  switch (f.type) {
    case "output":
      return encodeOutputFrame(f.seq, f.replay, [f.data]);
    case "snapshot": {
      const { bytes, view } = frame(S2C.snapshot, 8 + f.data.byteLength);
      view.setFloat64(1, f.seq);
      bytes.set(f.data, 9);
      return bytes;
    }
    case "status":
      return jsonFrame(S2C.status, { state: f.state, ...(f.detail !== undefined ? { detail: f.detail } : {}) });
    case "exit":
      return jsonFrame(S2C.exit, { code: f.code, signal: f.signal });
    case "error":
      return jsonFrame(S2C.error, { code: f.code, message: f.message });
    case "pong":
      return withPayload(S2C.pong, f.data);
  }
}

function parseJson(payload: Uint8Array): Record<string, unknown> {
  const value: unknown = JSON.parse(dec.decode(payload));
  if (typeof value !== "object" || value === null) throw new ProtocolError("bad_frame", "expected a JSON object");
  return value as Record<string, unknown>;
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** Decodes one server frame (the browser's side of the protocol). */
export function decodeServerFrame(data: ArrayBuffer | ArrayBufferView): ServerFrame {
  const bytes = asBytes(data);
  if (bytes.byteLength < 1) throw new ProtocolError("bad_frame", "empty frame");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const payload = bytes.subarray(1);
  try {
    switch (bytes[0]) {
      case S2C.output:
        if (payload.byteLength < 9) break;
        return { type: "output", seq: view.getFloat64(1), replay: (bytes[9]! & OUTPUT_REPLAY) !== 0, data: bytes.subarray(10) };
      case S2C.snapshot:
        if (payload.byteLength < 8) break;
        return { type: "snapshot", seq: view.getFloat64(1), data: bytes.subarray(9) };
      case S2C.status: {
        const o = parseJson(payload);
        return { type: "status", state: String(o.state) as SessionState, ...(str(o.detail) !== undefined ? { detail: str(o.detail) } : {}) };
      }
      case S2C.exit: {
        const o = parseJson(payload);
        return { type: "exit", code: typeof o.code === "number" ? o.code : null, signal: str(o.signal) ?? null };
      }
      case S2C.error: {
        const o = parseJson(payload);
        return { type: "error", code: str(o.code) ?? "error", message: str(o.message) ?? "" };
      }
      case S2C.pong:
        return { type: "pong", data: payload };
    }
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError("bad_frame", "malformed frame payload");
  }
  throw new ProtocolError("bad_frame", `unknown or short frame type ${bytes[0]}`);
}
