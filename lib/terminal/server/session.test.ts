// Terminal sessions end to end below the browser: a real embedded target, the real
// bridge (ssh2 client, pinned host key) and real WebSockets. Framing, order, output
// flow control and exact resume are checked against a scripted channel in
// session-output.test.ts.
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLOSE, MAX_FRAME_BYTES, type ServerFrame } from "../protocol";
import { ProtocolClient } from "../testing/protocol-client";
import { startTerminalTestServer, type TerminalTestServer } from "../testing/terminal-server";
import { INPUT_HIGH_WATER } from "./input";
import { UNREACHABLE_MESSAGE } from "./shell-channel";

let srv: TerminalTestServer;
beforeAll(async () => {
  srv = await startTerminalTestServer({ from: 25000, to: 25499 });
});
afterAll(async () => {
  await srv?.stop();
});
const newSession: TerminalTestServer["newSession"] = (opts) => srv.newSession(opts);

/** A protocol client on session `id`: records everything; `tail` keeps only the last 64 KiB of output (for floods). */
function client(id: string, resume: number | null = null, autoAck = true, tail = false): ProtocolClient {
  return ProtocolClient.connect(`ws://127.0.0.1:${srv.port}/?id=${id}${resume === null ? "" : `&resume=${resume}`}`, { autoAck, keep: tail ? "tail" : "all" });
}

describe("terminal session", () => {
  it("opens the shell at the size of the first frame and delivers keystrokes typed before it was ready", async () => {
    const s = newSession();
    const c = client(s.id);
    await c.opened();
    c.send({ type: "resize", cols: 123, rows: 45 });
    c.type("stty size\r"); // typed while still connecting
    await c.until(() => c.text().includes("45 123"));
    expect(c.status("live")).toBe(true);
    c.send({ type: "resize", cols: 90, rows: 30 });
    c.type("stty size\r");
    await c.until(() => c.text().includes("30 90"));
    c.ws.close();
  });

  it("sends a screen snapshot when the gap is larger than the ring", async () => {
    const s = newSession({ ring: 8 * 1024 });
    const a = client(s.id);
    await a.opened();
    a.send({ type: "resize", cols: 80, rows: 24 });
    a.type("clear; echo ready\r");
    await a.until(() => a.text().includes("ready"));
    a.ws.close();
    await new Promise((r) => setTimeout(r, 100));
    // Printed while nobody watches: far more than the 8 KiB ring holds.
    const b0 = client(s.id, a.offset);
    await b0.opened();
    b0.type("seq 1 5000; echo marker-$((1+1))\r");
    await b0.until(() => b0.text().includes("marker-2"));
    b0.ws.close();
    await new Promise((r) => setTimeout(r, 100));
    const b = client(s.id, 0);
    await b.until(() => b.frames.some((f) => f.type === "snapshot") && b.status("live"));
    const snap = b.frames.find((f) => f.type === "snapshot") as Extract<ServerFrame, { type: "snapshot" }>;
    const screen = Buffer.from(snap.data).toString("utf8");
    expect(screen).toContain("5000");
    expect(screen).toContain("marker-2");
    b.ws.close();
  });

  it("answers a malformed frame with an error frame and a policy close, and the session carries on", async () => {
    const s = newSession();
    const a = client(s.id);
    await a.opened();
    a.send({ type: "resize", cols: 80, rows: 24 });
    await a.until(() => a.status("live"));
    a.ws.send(Buffer.from([0x02, 0, 0, 0, 24])); // zero columns
    await a.until(() => a.closed !== null);
    expect(a.closed!.code).toBe(CLOSE.policy);
    expect(a.frames.some((f) => f.type === "error" && f.code === "bad_size")).toBe(true);

    const b = client(s.id, a.offset);
    await b.opened();
    b.ws.send(Buffer.alloc(70 * 1024, 0x01)); // oversized input frame
    await b.until(() => b.closed !== null);
    expect(b.closed!.code).toBe(CLOSE.tooBig);

    const c = client(s.id, b.offset);
    await c.opened();
    c.type("echo still-$((2+3))\r");
    await c.until(() => c.text().includes("still-5"));
    c.ws.close();
  });

  it("reports the exit status when the shell exits", async () => {
    const s = newSession();
    const c = client(s.id);
    await c.opened();
    c.send({ type: "resize", cols: 80, rows: 24 });
    c.type("exit 3\r");
    await c.until(() => c.closed !== null);
    expect(c.frames).toContainEqual({ type: "exit", code: 3, signal: null });
    expect(c.status("ended")).toBe(true);
  });

  it("warns before the idle timeout ends a session, and typing resets it", async () => {
    const s = newSession({ idleMs: 1500 });
    const c = client(s.id);
    await c.opened();
    c.send({ type: "resize", cols: 80, rows: 24 });
    await c.until(() => c.status("live"));
    // Typing keeps it alive past the first deadline.
    await new Promise((r) => setTimeout(r, 900));
    c.type("echo typed\r");
    await new Promise((r) => setTimeout(r, 900));
    expect(c.closed).toBeNull();
    await c.until(() => c.status("idle-warning"), 3000);
    const warning = c.frames.find((f) => f.type === "status" && f.state === "idle-warning") as { detail?: string };
    expect(warning.detail).toMatch(/ends in/);
    await c.until(() => c.closed !== null, 3000);
    expect(c.frames.some((f) => f.type === "status" && f.state === "ended" && /idle/.test(f.detail ?? ""))).toBe(true);
  });

  it("refuses a target whose host key is not the pinned one, telling the user only that it could not be reached", async () => {
    const failures: string[] = [];
    const s = newSession({ pinned: Buffer.from("not the key"), onConnectFailed: (reason) => failures.push(reason) });
    const c = client(s.id);
    await c.opened();
    c.send({ type: "resize", cols: 80, rows: 24 });
    await c.until(() => c.closed !== null);
    const errors = c.frames.filter((f) => f.type === "error");
    expect(errors).toEqual([{ type: "error", code: "unreachable", message: UNREACHABLE_MESSAGE }]);
    expect(failures).toEqual(["host_key_mismatch"]);
  });
});

/** Resident set size of this process (the bridge, the embedded target and the client all live here). */
function rss(): number {
  return process.memoryUsage.rss();
}

/** Typeable text of `bytes` bytes: base64 lines (no control characters: random bytes would hold ^C, ^Z...). */
function text(bytes: number): Buffer {
  return Buffer.from(
    randomBytes(Math.ceil((bytes * 3) / 4))
      .toString("base64")
      .replace(/(.{76})/g, "$1\n")
      .slice(0, bytes),
  );
}

/** Sends `data` as input frames as fast as the socket takes them, keeping at most `inFlight` queued on the client. */
async function pour(c: ProtocolClient, data: Buffer, inFlight = 1024 * 1024): Promise<void> {
  const frame = MAX_FRAME_BYTES - 1;
  for (let off = 0; off < data.length; off += frame) {
    while (c.ws.bufferedAmount > inFlight) {
      if (c.closed) return;
      await new Promise((r) => setTimeout(r, 2));
    }
    c.send({ type: "input", data: data.subarray(off, off + frame) });
  }
}

describe("terminal input flow control", () => {
  it("stops reading a flood of input the shell does not read: the session's buffer and the process stay bounded", async () => {
    const s = newSession();
    const c = client(s.id, null, true, true);
    await c.opened();
    c.send({ type: "resize", cols: 80, rows: 24 });
    c.type("stty -echo; echo fl$((0))od-ready; sleep 600\r");
    await c.until(() => c.text().includes("fl0od-ready"));
    const rss0 = rss();
    const frame = text(MAX_FRAME_BYTES - 1);
    let maxBuffered = 0;
    let maxRss = rss0;
    let offered = 0;
    const sampler = setInterval(() => {
      maxBuffered = Math.max(maxBuffered, s.inputBuffered);
      maxRss = Math.max(maxRss, rss());
    }, 5);
    // 6 s of 64 KiB frames, as fast as the client's socket takes them.
    const end = Date.now() + 6000;
    while (Date.now() < end) {
      if (c.ws.bufferedAmount > 1024 * 1024) await new Promise((r) => setTimeout(r, 2));
      else {
        c.send({ type: "input", data: frame });
        offered += frame.length;
        if (offered % (16 * frame.length) === 0) await new Promise((r) => setImmediate(r));
      }
    }
    clearInterval(sampler);
    const taken = s.counts.bytesIn;
    // What the server took in: the target's SSH window and its channel buffer (2 MiB
    // each in ssh2), the pty's queue and ours; the rest waits in TCP buffers.
    expect(taken).toBeLessThan(8 * 1024 * 1024);
    expect(taken).toBeGreaterThan(1024 * 1024);
    // The session's own buffer: the pause threshold plus at most what one socket read held.
    expect(maxBuffered).toBeGreaterThan(INPUT_HIGH_WATER);
    expect(maxBuffered).toBeLessThan(INPUT_HIGH_WATER + 4 * MAX_FRAME_BYTES);
    console.info(
      `input flood: offered ${(offered / 1048576).toFixed(0)} MiB in 6 s, server took ${(taken / 1048576).toFixed(1)} MiB, session buffer max ${(maxBuffered / 1024).toFixed(0)} KiB, RSS +${((maxRss - rss0) / 1048576).toFixed(1)} MiB`,
    );
    expect(maxRss - rss0).toBeLessThan(64 * 1024 * 1024);
    // Paused is not dead: Ctrl-C reaches the shell once its input drains... after the
    // flood's bytes, which `sleep` never reads; ending the session frees them.
    s.close("done");
    expect(s.inputBuffered).toBe(0);
    await c.until(() => c.closed !== null);
  }, 60_000);

  it("closes a session whose input goes over the cap, with an error frame and close code 4009", async () => {
    const s = newSession({ inputCap: 96 * 1024 }); // below the pause threshold: flow control cannot hold it
    const c = client(s.id, null, true, true);
    await c.opened();
    c.send({ type: "resize", cols: 80, rows: 24 });
    c.type("stty -echo; echo c$((0))ap-ready; sleep 600\r");
    await c.until(() => c.text().includes("c0ap-ready"));
    void pour(c, text(16 * 1024 * 1024));
    await c.until(() => c.closed !== null, 30_000);
    expect(c.closed!.code).toBe(CLOSE.inputOverflow);
    const err = c.frames.find((f) => f.type === "error");
    expect(err).toMatchObject({ type: "error", code: "input_overflow" });
    expect((err as { message: string }).message).toMatch(/limit of 96 KiB per session/);
    expect(s.state).toBe("ended");
    expect(s.inputBuffered).toBe(0);
  }, 60_000);

  it("delivers a 10 MB paste into `cat > file` intact, echoed, slowed down but never dropped", async () => {
    const s = newSession();
    const c = client(s.id, null, true, true);
    await c.opened();
    c.send({ type: "resize", cols: 80, rows: 24 });
    c.type("cd && cat > paste-$((1+1)).txt\r");
    await new Promise((r) => setTimeout(r, 300));
    // Lines of base64 (a canonical tty takes lines up to 4095 bytes).
    const paste = Buffer.concat([text(10 * 1000 * 1000), Buffer.from("\n")]);
    const want = createHash("sha256").update(paste).digest("hex");
    let maxBuffered = 0;
    const sampler = setInterval(() => (maxBuffered = Math.max(maxBuffered, s.inputBuffered)), 5);
    await pour(c, paste, 16 * 1024 * 1024);
    c.type("\x04"); // end of file at the start of a line
    c.type("stty -echo; echo sum=$(sha256sum < paste-2.txt | cut -c1-64) size=$(wc -c < paste-2.txt)=end\r");
    await c.until(() => /size=\d+=end/.test(c.text()), 120_000);
    clearInterval(sampler);
    const m = /sum=([0-9a-f]{64}) size=(\d+)=end/.exec(c.text());
    expect(m?.[2]).toBe(String(paste.length));
    expect(m?.[1]).toBe(want);
    expect(maxBuffered).toBeLessThan(INPUT_HIGH_WATER + 4 * MAX_FRAME_BYTES);
    s.close("done");
  }, 180_000);

  it("delivers the paste intact through a browser that acknowledges slowly, while another session floods output", async () => {
    // A slow renderer: acks what it has processed only every 40 ms, so the echo of the
    // paste keeps hitting the output window; meanwhile a second session on the same
    // server floods. Flow control in both directions must still let every byte through.
    const flooder = newSession();
    const f = client(flooder.id, null, true, true);
    await f.opened();
    f.send({ type: "resize", cols: 80, rows: 24 });
    f.type("while :; do cat /etc/services; done\r");

    const s = newSession();
    const c = client(s.id, null, false, true);
    const acker = setInterval(() => c.ws.readyState === c.ws.OPEN && c.send({ type: "ack", bytes: c.offset }), 40);
    try {
      await c.opened();
      c.send({ type: "resize", cols: 80, rows: 24 });
      c.type("cd && cat > slow-$((1+1)).txt\r");
      await new Promise((r) => setTimeout(r, 300));
      const paste = Buffer.concat([text(3 * 1000 * 1000), Buffer.from("\n")]);
      const want = createHash("sha256").update(paste).digest("hex");
      await pour(c, paste, 4 * 1024 * 1024);
      c.type("\x04");
      c.type("stty -echo; echo sum=$(sha256sum < slow-2.txt | cut -c1-64) size=$(wc -c < slow-2.txt)=end\r");
      await c.until(() => /size=\d+=end/.test(c.text()), 150_000);
      const m = /sum=([0-9a-f]{64}) size=(\d+)=end/.exec(c.text());
      expect(m?.[2]).toBe(String(paste.length));
      expect(m?.[1]).toBe(want);
      // The flood went on meanwhile (it was not starved to let the paste through).
      expect(f.offset).toBeGreaterThan(1024 * 1024);
    } finally {
      clearInterval(acker);
      s.close("done");
      flooder.close("done");
    }
  }, 180_000);
});
