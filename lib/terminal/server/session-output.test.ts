// TerminalSession against a real WebSocket and a scripted SSH channel: framing,
// order, flow control and resume as a browser client sees them. The real shell
// through the real bridge (input, exit status, snapshots, idle) is session.test.ts.
import { EventEmitter } from "node:events";
import type { AddressInfo } from "node:net";
import pino from "pino";
import type { Client, ClientChannel } from "ssh2";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { OUTPUT_CHUNK_BYTES } from "../protocol";
import { ProtocolClient } from "../testing/protocol-client";
import { HIGH_WATER } from "./flow-control";
import { TerminalSession } from "./session";

class FakeChannel extends EventEmitter {
  readonly stderr = new EventEmitter();
  paused = false;
  written: Buffer[] = [];
  write(d: Buffer): boolean {
    this.written.push(Buffer.from(d));
    return true;
  }
  setWindow(): void {}
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
}

class FakeClient extends EventEmitter {
  end(): void {}
}

interface Rig {
  session: TerminalSession;
  channel: FakeChannel;
  connect(resumeFrom?: number | null): Promise<ProtocolClient>;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rig(opts: { resumeBufferBytes?: number } = {}): Promise<Rig> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
  const channel = new FakeChannel();
  const client = new FakeClient();
  const session = new TerminalSession("s1", "w1", "t1", {
    log: pino({ level: "silent" }),
    resumeBufferBytes: opts.resumeBufferBytes ?? 1024 * 1024,
    graceMs: 60_000,
    idleTimeoutMs: 0,
    connect: async () => ({ client: client as unknown as Client, channel: channel as unknown as ClientChannel }),
    targetIsLive: async () => true,
    onDisposed: () => undefined,
  });
  cleanups.push(() => session.close("test over"));
  let nextResume: number | null = null;
  wss.on("connection", (ws) => session.attach(ws, nextResume));
  const port = (wss.address() as AddressInfo).port;
  return {
    session,
    channel,
    async connect(resumeFrom = null) {
      nextResume = resumeFrom;
      const peer = ProtocolClient.connect(`ws://127.0.0.1:${port}`);
      await peer.opened();
      cleanups.push(() => peer.ws.terminate());
      return peer;
    },
  };
}

async function live(r: Rig): Promise<ProtocolClient> {
  const peer = await r.connect();
  peer.send({ type: "resize", cols: 80, rows: 24 });
  await peer.until(() => peer.status("live"));
  return peer;
}

function bytes(n: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

describe("terminal session", () => {
  it("coalesces the output of one turn into few frames, in order, with contiguous offsets", async () => {
    const r = await rig();
    const peer = await live(r);
    const chunks = Array.from({ length: 40 }, (_, i) => bytes(4095, i));
    for (const c of chunks) r.channel.emit("data", c); // one turn, as ssh2 delivers the packets of one read
    const total = 40 * 4095;
    await peer.until(() => peer.output.length === total);
    expect(peer.output.equals(Buffer.concat(chunks))).toBe(true);
    const frames = peer.outputFrames();
    expect(frames.length).toBe(Math.ceil(total / OUTPUT_CHUNK_BYTES));
    let seq = 0;
    for (const f of frames) {
      expect(f.seq).toBe(seq);
      expect(f.data.byteLength).toBeLessThanOrEqual(OUTPUT_CHUNK_BYTES);
      expect(f.replay).toBe(false);
      seq += f.data.byteLength;
    }
  });

  it("sends a lone keystroke echo at once", async () => {
    const r = await rig();
    const peer = await live(r);
    peer.send({ type: "input", data: Buffer.from("x") });
    await new Promise((res) => setTimeout(res, 50));
    expect(Buffer.concat(r.channel.written).toString()).toBe("x");
    const t0 = performance.now();
    r.channel.emit("data", Buffer.from("x"));
    await peer.until(() => peer.output.toString() === "x");
    expect(performance.now() - t0).toBeLessThan(100);
  });

  it("sends all output before the exit status", async () => {
    const r = await rig();
    const peer = await live(r);
    r.channel.emit("data", Buffer.from("last words\r\n"));
    r.channel.emit("exit", 3);
    r.channel.emit("close");
    await peer.until(() => peer.frames.some((f) => f.type === "exit"));
    const exitAt = peer.frames.findIndex((f) => f.type === "exit");
    const outAt = peer.frames.findIndex((f) => f.type === "output");
    expect(outAt).toBeGreaterThanOrEqual(0);
    expect(outAt).toBeLessThan(exitAt);
    expect(peer.output.toString()).toBe("last words\r\n");
  });

  it("pauses the SSH channel when the client stops acknowledging, and resumes when it catches up", async () => {
    const r = await rig();
    const peer = await live(r);
    peer.autoAck = false;
    let pushed = 0;
    while (!r.channel.paused && pushed < 8 * HIGH_WATER) {
      r.channel.emit("data", bytes(4096, pushed));
      pushed += 4096;
      if (pushed % (64 * 1024) === 0) await new Promise((res) => setImmediate(res));
    }
    expect(r.channel.paused).toBe(true);
    expect(pushed).toBeLessThanOrEqual(HIGH_WATER + 64 * 1024);
    await peer.until(() => peer.output.length === pushed);
    peer.send({ type: "ack", bytes: pushed });
    await peer.until(() => !r.channel.paused);
  });

  it("resumes a dropped socket with exactly the bytes it missed", async () => {
    const r = await rig();
    const first = await live(r);
    r.channel.emit("data", bytes(10_000, 1));
    await first.until(() => first.output.length === 10_000);
    await first.close();
    const missed = bytes(50_000, 2);
    r.channel.emit("data", missed.subarray(0, 20_000));
    r.channel.emit("data", missed.subarray(20_000));
    await new Promise((res) => setTimeout(res, 20));
    const second = await r.connect(10_000);
    await second.until(() => second.output.length === 50_000);
    const replay = second.outputFrames();
    expect(replay[0]!.seq).toBe(10_000);
    expect(replay.every((f) => f.replay)).toBe(true);
    expect(second.output.equals(missed)).toBe(true);
    // Live output continues after the replay, not replayed.
    r.channel.emit("data", Buffer.from("after"));
    await second.until(() => second.output.length === 50_005);
    expect(second.outputFrames().at(-1)!.replay).toBe(false);
    expect(second.outputFrames().at(-1)!.seq).toBe(60_000);
  });
});
