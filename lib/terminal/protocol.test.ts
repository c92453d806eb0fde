import { describe, expect, it } from "vitest";
import {
  C2S,
  CLOSE,
  MAX_FRAME_BYTES,
  OUTPUT_HEADER_BYTES,
  ProtocolError,
  decodeClientFrame,
  decodeServerFrame,
  encodeClientFrame,
  encodeOutputFrame,
  encodeServerFrame,
} from "./protocol";

const bytes = (...b: number[]) => Uint8Array.from(b);

describe("client frames", () => {
  it("round-trip", () => {
    const data = new TextEncoder().encode("ls -la\r");
    expect(decodeClientFrame(encodeClientFrame({ type: "input", data }))).toEqual({ type: "input", data });
    expect(decodeClientFrame(encodeClientFrame({ type: "resize", cols: 120, rows: 40 }))).toEqual({ type: "resize", cols: 120, rows: 40 });
    expect(decodeClientFrame(encodeClientFrame({ type: "ack", bytes: 2 ** 40 + 7 }))).toEqual({ type: "ack", bytes: 2 ** 40 + 7 });
    expect(decodeClientFrame(encodeClientFrame({ type: "ping", data: bytes(1, 2) }))).toEqual({ type: "ping", data: bytes(1, 2) });
  });

  const bad: [string, Uint8Array, string, number][] = [
    ["an empty frame", bytes(), "bad_frame", CLOSE.policy],
    ["an unknown type", bytes(0x7f, 1), "bad_frame", CLOSE.policy],
    ["a server type from a client", bytes(0x81, 0, 0), "bad_frame", CLOSE.policy],
    ["a short resize", bytes(C2S.resize, 0, 80), "bad_frame", CLOSE.policy],
    ["zero columns", bytes(C2S.resize, 0, 0, 0, 24), "bad_size", CLOSE.policy],
    ["5000 columns", bytes(C2S.resize, 0x13, 0x88, 0, 24), "bad_size", CLOSE.policy],
    ["1001 rows", bytes(C2S.resize, 0, 80, 0x03, 0xe9), "bad_size", CLOSE.policy],
    ["a short ack", bytes(C2S.ack, 1, 2, 3), "bad_frame", CLOSE.policy],
    ["a negative ack", encodeClientFrame({ type: "ack", bytes: -1 }), "bad_frame", CLOSE.policy],
    ["a fractional ack", encodeClientFrame({ type: "ack", bytes: 1.5 }), "bad_frame", CLOSE.policy],
    ["a long ping", new Uint8Array(66).fill(C2S.ping, 0, 1), "bad_frame", CLOSE.policy],
    ["an oversized frame", new Uint8Array(MAX_FRAME_BYTES + 1).fill(C2S.input, 0, 1), "frame_too_large", CLOSE.tooBig],
  ];
  it.each(bad)("rejects %s", (_name, frame, code, close) => {
    try {
      decodeClientFrame(frame);
      expect.unreachable("decoded a bad frame");
    } catch (err) {
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).code).toBe(code);
      expect((err as ProtocolError).closeCode).toBe(close);
    }
  });

  it("accepts the extremes of the allowed sizes", () => {
    expect(decodeClientFrame(encodeClientFrame({ type: "resize", cols: 1, rows: 1000 }))).toEqual({ type: "resize", cols: 1, rows: 1000 });
    const max = new Uint8Array(MAX_FRAME_BYTES).fill(0x61);
    max[0] = C2S.input;
    expect(decodeClientFrame(max).type).toBe("input");
  });
});

describe("server frames", () => {
  it("round-trip", () => {
    const data = new TextEncoder().encode("hello\r\n");
    expect(decodeServerFrame(encodeServerFrame({ type: "output", seq: 12345, replay: true, data }))).toEqual({
      type: "output",
      seq: 12345,
      replay: true,
      data,
    });
    expect(decodeServerFrame(encodeServerFrame({ type: "snapshot", seq: 9, data }))).toEqual({ type: "snapshot", seq: 9, data });
    expect(decodeServerFrame(encodeServerFrame({ type: "status", state: "live" }))).toEqual({ type: "status", state: "live" });
    expect(decodeServerFrame(encodeServerFrame({ type: "exit", code: 3, signal: null }))).toEqual({ type: "exit", code: 3, signal: null });
    expect(decodeServerFrame(encodeServerFrame({ type: "error", code: "bad_frame", message: "x" }))).toEqual({
      type: "error",
      code: "bad_frame",
      message: "x",
    });
  });

  it("writes an output frame into a reused buffer exactly as into a fresh one", () => {
    const parts = [new TextEncoder().encode("ab"), new TextEncoder().encode("cde")];
    const buf = new Uint8Array(64).fill(0xee); // stale bytes from an earlier frame
    const into = encodeOutputFrame(77, false, parts, buf);
    expect(into.buffer).toBe(buf.buffer);
    expect(into).toEqual(encodeOutputFrame(77, false, parts));
    expect(decodeServerFrame(into)).toEqual({ type: "output", seq: 77, replay: false, data: new TextEncoder().encode("abcde") });
    expect(() => encodeOutputFrame(1, false, parts, new Uint8Array(OUTPUT_HEADER_BYTES + 4))).toThrow(RangeError);
  });

  it("rejects malformed JSON payloads", () => {
    expect(() => decodeServerFrame(bytes(0x82, 0x7b))).toThrow(ProtocolError);
  });
});
