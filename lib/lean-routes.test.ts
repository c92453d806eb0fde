// The requests server.ts answers ahead of Next: probes, metrics (loopback or a
// token only) and the key lookup's contract, against a real HTTP server and database.
import http from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "@/db/testing";
import { serveLean, type LeanDeps } from "@/lib/lean-routes";
import { healthState } from "@/lib/health";

describe.each(testDatabases())("lean routes on $name", (tdb) => {
  let handle: Awaited<ReturnType<typeof tdb.open>>;
  let server: http.Server;
  let base = "";
  /** Who the server believes is asking (server.ts takes it from the socket or a trusted proxy). */
  let clientIp = "127.0.0.1";
  let deps: LeanDeps;

  beforeAll(async () => {
    handle = await tdb.open();
    deps = {
      db: handle.db,
      log: pino({ level: "silent" }),
      liveWindowMs: 60_000,
      targetAuthFailureRate: { max: 30, windowSeconds: 60 },
      metricsToken: undefined,
    };
    server = http.createServer((req, res) => {
      if (!serveLean(req, res, clientIp, deps)) res.writeHead(404).end("next");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    healthState.get().draining = false;
    await handle?.dispose();
  });

  it("/healthz answers while the process lives; /readyz while the database answers and the instance is not draining", async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: "ok" });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, database: "ok", draining: false });
    healthState.get().draining = true;
    const draining = await fetch(`${base}/readyz`);
    expect(draining.status).toBe(503);
    expect(draining.headers.get("retry-after")).toBe("5");
    expect(await draining.json()).toEqual({ ready: false, database: "ok", draining: true });
    healthState.get().draining = false;
  });

  it("/metrics: Prometheus text to loopback clients; others need MESHIA_METRICS_TOKEN", async () => {
    clientIp = "127.0.0.1";
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/plain/);
    const text = await res.text();
    for (const name of [
      "meshia_terminal_sessions_open",
      "meshia_terminal_bytes_total",
      "meshia_key_generations_total",
      "meshia_authorized_keys_lookups_total",
      "meshia_authorized_keys_lookup_seconds_bucket",
      "meshia_limits_hit_total",
    ]) {
      expect(text, name).toContain(name);
    }
    clientIp = "203.0.113.9";
    expect((await fetch(`${base}/metrics`)).status).toBe(403);
    deps.metricsToken = "metrics-token-0123456789";
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: "Bearer wrong-token-0123456789" } })).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${deps.metricsToken}` } })).status).toBe(200);
    deps.metricsToken = undefined;
    clientIp = "127.0.0.1";
  });

  it("leaves everything else to Next", async () => {
    expect(await (await fetch(`${base}/api/workspaces`)).text()).toBe("next");
    expect(await (await fetch(`${base}/api/targets/x/authorized-keys?user=mesh`, { method: "POST" })).text()).toBe("next");
  });
});
