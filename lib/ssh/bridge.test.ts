// The bridge's receive window against a real ssh2 Server that writes as fast as
// the SSH window lets it: how much arrives is what we allowed, not ssh2's 2 MiB top-ups.
import type { AddressInfo } from "node:net";
import ssh2, { type Client, type ClientChannel } from "ssh2";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { BRIDGE_ALGORITHMS, BridgeConnectError, connectBridge, openShell, receiveWindow } from "./bridge";

const MiB = 1024 * 1024;
const hostKey = ssh2.utils.generateKeyPairSync("ed25519");
const clientKey = ssh2.utils.generateKeyPairSync("ed25519");

/** What each connection to the flood server negotiated (its client-to-server cipher). */
const negotiated: string[] = [];

/** A server whose shell writes "y\n" forever, stopping only when the SSH window is full. */
function floodServer(): ssh2.Server {
  return new ssh2.Server({ hostKeys: [hostKey.private] }, (conn) => {
    conn.on("error", () => undefined);
    conn.on("handshake", (n) => negotiated.push(n.cs.cipher));
    conn.on("authentication", (ctx) => ctx.accept());
    conn.on("ready", () => {
      conn.on("session", (accept) => {
        const session = accept();
        session.on("pty", (ok) => ok?.());
        session.on("shell", (ok) => {
          const ch = ok();
          ch.on("error", () => undefined);
          const chunk = Buffer.from("y\n".repeat(16 * 1024));
          const pump = () => {
            while (!ch.destroyed && ch.write(chunk));
            if (!ch.destroyed) ch.once("drain", pump);
          };
          pump();
        });
      });
    });
  });
}

/** Bytes received once the stream has been quiet for `quietMs`. */
function settle(count: () => number, quietMs = 300): Promise<number> {
  return new Promise((resolve) => {
    let last = count();
    const t = setInterval(() => {
      const now = count();
      if (now === last) {
        clearInterval(t);
        resolve(now);
      }
      last = now;
    }, quietMs);
  });
}

describe("receiveWindow", () => {
  const server = floodServer();
  let port = 0;
  const clients: Client[] = [];
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const c of clients) c.end();
    await new Promise<void>((r) => server.close(() => r()));
  });

  async function shell(): Promise<{ channel: ClientChannel; client: Client }> {
    const client = await connectBridge({ address: "127.0.0.1", port, user: "mesh", isPinned: () => true }, { privateKey: clientKey.private });
    clients.push(client);
    return { client, channel: await openShell(client, { cols: 80, rows: 24 }) };
  }

  it("negotiates AES-GCM (OpenSSL, AES-NI) with a server that offers every cipher", async () => {
    negotiated.length = 0;
    await shell();
    expect(negotiated).toEqual([BRIDGE_ALGORITHMS.cipher[0]]);
    expect(BRIDGE_ALGORITHMS.cipher[0]).toBe("aes128-gcm@openssh.com");
  });

  it("without it, a paused channel still takes in megabytes (what it fixes)", async () => {
    const { channel } = await shell();
    channel.pause();
    const buffered = await settle(() => channel.readableLength);
    expect(buffered).toBeGreaterThan(2 * MiB);
  });

  it("lets the target send only what is allowed, once the opening window is used up", async () => {
    const { client, channel } = await shell();
    const rw = receiveWindow(client, channel);
    expect(rw).toBeDefined();
    let received = 0;
    channel.on("data", (c: Buffer) => (received += c.length));

    // Nothing allowed: only the 2 MiB ssh2 granted at open arrives.
    rw!.allow(0);
    const opening = await settle(() => received);
    expect(opening).toBeLessThanOrEqual(2 * MiB);

    // Allowing 256 KiB lets exactly that much more through.
    rw!.allow(256 * 1024);
    expect(await settle(() => received)).toBe(opening + 256 * 1024);

    // Allowing more keeps it flowing for as long as we keep allowing.
    const flowing = new Promise<void>((resolve) => {
      const onData = () => {
        if (received >= opening + 4 * MiB) {
          channel.off("data", onData);
          resolve();
        } else rw!.allow(512 * 1024);
      };
      channel.on("data", onData);
    });
    rw!.allow(512 * 1024);
    await flowing;
    const stopped = await settle(() => received);
    // Never more than the last allowance beyond what had arrived.
    expect(stopped - (opening + 4 * MiB)).toBeLessThanOrEqual(512 * 1024);
  });
});

describe("BridgeConnectError", () => {
  it("is recognised when the other module copy made it (server.ts and Next's bundle each load bridge.ts)", async () => {
    const made = new BridgeConnectError("host_key_mismatch", "x");
    expect(made).toBeInstanceOf(BridgeConnectError);
    // Another copy of the module: another class, another constructor.
    vi.resetModules();
    const fresh = await import("./bridge");
    expect(fresh.BridgeConnectError).not.toBe(BridgeConnectError);
    const foreign = new fresh.BridgeConnectError("tcp", "y");
    expect(foreign instanceof BridgeConnectError).toBe(true);
    expect(made instanceof fresh.BridgeConnectError).toBe(true);
    expect(foreign.reason).toBe("tcp");
    expect(new Error("host_key_mismatch: x") instanceof BridgeConnectError).toBe(false);
  });
});
