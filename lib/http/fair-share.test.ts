// One address's cap on requests in flight, on a real HTTP server wired as server.ts
// wires it (trustForwarding, then the cap, then a handler that holds requests open
// as a slow Next page would), with clients on two loopback addresses: the flooding
// address is refused beyond its cap, the other never is, and what the flooder writes
// in X-Forwarded-For changes nothing unless a trusted proxy wrote it.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trustForwarding } from "./client-address";
import { InflightCap, refuseOverCap } from "./fair-share";

const CAP = 3;
const FLOODER = "127.0.0.1";
const OTHER = "127.0.0.6";

interface Reply {
  status: number;
  retryAfter: string | undefined;
  body: string;
}

describe("requests in flight per client address", () => {
  let server: http.Server;
  let port = 0;
  let trustProxy = false;
  let cap = new InflightCap(CAP);
  /** Requests the handler holds; released together. */
  let held: http.ServerResponse[] = [];
  const release = () => {
    for (const res of held) res.end("done");
    held = [];
  };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const clientIp = trustForwarding(req, trustProxy);
      if (!cap.admit(clientIp, res)) return refuseOverCap(res);
      held.push(res);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    release();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  /** One request on a connection of its own from `from`; resolves with the answer. */
  const send = (from: string, headers: Record<string, string> = {}): { reply: Promise<Reply>; abort(): void } => {
    const req = http.request({ host: "127.0.0.1", port, path: "/api/workspaces", localAddress: from, agent: false, headers });
    const reply = new Promise<Reply>((resolve, reject) => {
      req.on("response", (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] as string | undefined, body }));
      });
      req.on("error", reject);
    });
    req.end();
    return { reply, abort: () => req.destroy() };
  };
  const heldCount = async (n: number) => {
    for (let i = 0; i < 200 && held.length < n; i++) await new Promise((r) => setTimeout(r, 5));
    expect(held.length).toBe(n);
  };

  it("beyond its cap an address gets 429 JSON with Retry-After; another address is admitted meanwhile, and the first again once its requests end", async () => {
    const flood = Array.from({ length: CAP }, () => send(FLOODER));
    await heldCount(CAP);
    const over = await send(FLOODER).reply;
    expect(over.status).toBe(429);
    expect(over.retryAfter).toBe("1");
    expect(JSON.parse(over.body)).toEqual({
      error: { code: "rate_limited", message: "Too many requests from this address at once; try again in 1 s.", details: { retryAfterSeconds: 1 } },
    });
    expect(cap.of(FLOODER)).toBe(CAP);

    const other = send(OTHER);
    await heldCount(CAP + 1);
    release();
    expect((await other.reply).status).toBe(200);
    for (const f of flood) expect((await f.reply).status).toBe(200);
    await expect.poll(() => cap.of(FLOODER)).toBe(0);
    const again = send(FLOODER);
    await heldCount(1);
    release();
    expect((await again.reply).status).toBe(200);
  });

  it("a request whose client goes away frees its place", async () => {
    const gone = Array.from({ length: CAP }, () => send(FLOODER));
    await heldCount(CAP);
    for (const g of gone) {
      g.abort();
      await g.reply.catch(() => undefined);
    }
    await expect.poll(() => cap.of(FLOODER)).toBe(0);
    held = [];
    const next = send(FLOODER);
    await heldCount(1);
    release();
    expect((await next.reply).status).toBe(200);
  });

  it("without a trusted proxy, X-Forwarded-For is the client's to write and is ignored both ways", async () => {
    trustProxy = false;
    // The flooder claims a new address per request: still one address, still capped.
    const flood = Array.from({ length: CAP }, (_, i) => send(FLOODER, { "x-forwarded-for": `198.51.100.${i + 1}` }));
    await heldCount(CAP);
    expect((await send(FLOODER, { "x-forwarded-for": "198.51.100.200" }).reply).status).toBe(429);
    // Nor can it get another address refused by writing that address.
    const victim = send(OTHER, { "x-forwarded-for": FLOODER });
    await heldCount(CAP + 1);
    release();
    expect((await victim.reply).status).toBe(200);
    for (const f of flood) expect((await f.reply).status).toBe(200);
  });

  it("behind a trusted proxy, the last hop (the one the proxy appended) is the address; entries before it are the client's and ignored", async () => {
    trustProxy = true;
    cap = new InflightCap(CAP);
    try {
      // Everything comes from the proxy's one socket address; the proxy appends the real client.
      const flood = Array.from({ length: CAP }, (_, i) => send(FLOODER, { "x-forwarded-for": `10.9.9.${i}, 203.0.113.5` }));
      await heldCount(CAP);
      expect((await send(FLOODER, { "x-forwarded-for": "10.1.1.1, 203.0.113.5" }).reply).status).toBe(429);
      // Another user behind the same proxy: admitted.
      const other = send(FLOODER, { "x-forwarded-for": "203.0.113.6" });
      await heldCount(CAP + 1);
      release();
      expect((await other.reply).status).toBe(200);
      for (const f of flood) expect((await f.reply).status).toBe(200);
    } finally {
      trustProxy = false;
    }
  });
});
