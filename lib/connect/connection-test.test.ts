// The connection test against a real ssh2 Server: a pinned host key is reported
// reachable with its latency; everything else (another host key, a closed port, a
// refused address, a refused login before the host key) reads the same and takes
// at least the failure floor.
import net, { type AddressInfo } from "node:net";
import pino from "pino";
import ssh2 from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ComputeTarget } from "@/db/schema";
import { connectBridge } from "@/lib/ssh/bridge";
import { TargetAddressRefused } from "@/lib/targets/network-policy";
import { defaultDeps, testConnection, UNREACHABLE_MESSAGE, type ConnectionTestDeps } from "./connection-test";

const hostKey = ssh2.utils.generateKeyPairSync("ed25519");
const otherHostKey = ssh2.utils.generateKeyPairSync("ed25519");
const clientKey = ssh2.utils.generateKeyPairSync("ed25519");
const log = pino({ level: "silent" });

function server(acceptLogin: boolean): ssh2.Server {
  return new ssh2.Server({ hostKeys: [hostKey.private] }, (conn) => {
    conn.on("error", () => undefined);
    conn.on("authentication", (ctx) => (acceptLogin && ctx.method === "publickey" ? ctx.accept() : ctx.reject(["publickey"])));
    conn.on("ready", () => undefined);
  });
}

async function listen(s: net.Server | ssh2.Server): Promise<number> {
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return (s.address() as AddressInfo).port;
}

function target(port: number, hostKeys: string, kind: "local" | "openssh" = "local"): ComputeTarget & { port: number } {
  return {
    id: "00000000-0000-4000-8000-000000000001",
    workspaceId: "00000000-0000-4000-8000-000000000002",
    name: "t",
    kind,
    host: "127.0.0.1",
    port,
    bootId: "b1",
    bootedAt: new Date(0),
    hostKeys,
    hostKeyFingerprint: null,
    status: "live",
    lastSeenAt: new Date(0),
    tokenHash: null,
    unavailableReason: null,
    unavailableFix: null,
    bridgeGeneration: 1,
    createdAt: new Date(0),
  };
}

const FLOOR = 400;
const deps: ConnectionTestDeps = {
  ...defaultDeps,
  failureFloorMs: FLOOR,
  connect: (at) => connectBridge(at, { privateKey: clientKey.private, readyTimeoutMs: 3_000, keepaliveIntervalMs: 0 }),
};

describe("testConnection", () => {
  const accepting = server(true);
  const refusing = server(false);
  let acceptPort = 0;
  let refusePort = 0;
  beforeAll(async () => {
    acceptPort = await listen(accepting);
    refusePort = await listen(refusing);
  });
  afterAll(() => {
    accepting.close();
    refusing.close();
  });

  it("the pinned host key: reachable, matching, with its latency", async () => {
    const r = await testConnection(target(acceptPort, hostKey.public), log, deps);
    expect(r).toMatchObject({ reachable: true, hostKeyMatches: true, loggedIn: true });
    if (!r.reachable) throw new Error("unreachable");
    expect(r.latencyMs).toBeGreaterThan(0);
    expect(r.latencyMs).toBeLessThan(3_000);
    expect(r.message).toContain(`${r.latencyMs} ms`);
  });

  it("the pinned host key but a refused login: reachable, and says the key lookup fails", async () => {
    const r = await testConnection(target(refusePort, hostKey.public), log, deps);
    expect(r).toMatchObject({ reachable: true, hostKeyMatches: true, loggedIn: false });
    expect(r.message).toMatch(/AuthorizedKeysCommand/);
  });

  it("another host key, a closed port, a refused address: the same answer, never sooner than the floor", async () => {
    const closed = net.createServer();
    const closedPort = await listen(closed);
    await new Promise<void>((r) => closed.close(() => r()));
    const cases: [string, ComputeTarget & { port: number }, ConnectionTestDeps][] = [
      ["other host key", target(acceptPort, otherHostKey.public), deps],
      ["closed port", target(closedPort, hostKey.public), deps],
      [
        "refused address",
        target(acceptPort, hostKey.public, "openssh"),
        { ...deps, resolve: async (h) => Promise.reject(new TargetAddressRefused(h, `${h} is a loopback address`)) },
      ],
      ["no such name", target(acceptPort, hostKey.public, "openssh"), { ...deps, resolve: async () => Promise.reject(new Error("ENOTFOUND")) }],
    ];
    for (const [what, t, d] of cases) {
      const start = performance.now();
      const r = await testConnection(t, log, d);
      expect(r, what).toEqual({ reachable: false, message: UNREACHABLE_MESSAGE });
      expect(performance.now() - start, what).toBeGreaterThanOrEqual(FLOOR - 5);
    }
  });
});
