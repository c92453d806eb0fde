// bench:keys — workspace key generation through the real HTTP route, and whether
// the event loop stays free meanwhile (a concurrent loop of GET /api/workspaces).
// Prints numbers and PASS/MISS per target; never fails on slowness.
import { performance } from "node:perf_hooks";
import { run } from "./lib/cleanup";
import { defaultWorkspace, startServer } from "./lib/server";
import { ms, sleep, summary, table, verdict } from "./lib/stats";

const GENERATIONS = Number(process.env.BENCH_KEYS ?? 20);
const TARGET_KEY_P50_MS = 600;
const TARGET_LOOP_P95_MS = 50;

async function timed(url: string, init?: RequestInit): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, init);
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${url}: ${res.status}`);
  return performance.now() - t0;
}

/** Sequential GETs until `stop()`; returns their latencies. */
function probeLoop(url: string): { stop(): Promise<number[]> } {
  const lat: number[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      lat.push(await timed(url));
      await sleep(5);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return lat;
    },
  };
}

run(async () => {
  const server = await startServer({ name: "keys" });
  const base = server.base;
  const ws = await defaultWorkspace(base);
  const keyUrl = `${base}/api/workspaces/${ws}/key`;
  const listUrl = `${base}/api/workspaces`;

  // Warm-up: route modules load lazily on first request, PGlite warms its caches.
  for (let i = 0; i < 20; i++) await timed(listUrl);
  await timed(keyUrl, { method: "POST" });

  // Baseline: the probe alone, no key generation.
  const idle = probeLoop(listUrl);
  await sleep(2000);
  const idleLat = await idle.stop();

  console.log(`generating ${GENERATIONS} RSA-3072 keys through POST /api/workspaces/{id}/key (sequential) while GET /api/workspaces loops…`);
  const probe = probeLoop(listUrl);
  const gen: number[] = [];
  for (let i = 0; i < GENERATIONS; i++) {
    const t0 = performance.now();
    const res = await fetch(keyUrl, { method: "POST" });
    const pem = await res.text();
    gen.push(performance.now() - t0);
    if (!res.ok || !pem.startsWith("-----BEGIN RSA PRIVATE KEY-----")) throw new Error(`key generation failed: ${res.status}`);
  }
  const busyLat = await probe.stop();

  const g = summary(gen);
  const b = summary(busyLat);
  const i = summary(idleLat);
  console.log();
  console.log(
    table([
      ["measurement", "n", "p50", "p95", "max"],
      ["POST key (RSA-3072)", String(g.n), ms(g.p50), ms(g.p95), ms(g.max)],
      ["GET /api/workspaces during generation", String(b.n), ms(b.p50), ms(b.p95), ms(b.max)],
      ["GET /api/workspaces idle (baseline)", String(i.n), ms(i.p50), ms(i.p95), ms(i.max)],
    ]),
  );
  console.log();
  console.log("targets");
  console.log(`  key generation p50 < ${TARGET_KEY_P50_MS} ms: ${ms(g.p50)}  ${verdict(g.p50 < TARGET_KEY_P50_MS)}`);
  console.log(`  concurrent GET p95 < ${TARGET_LOOP_P95_MS} ms (event loop free): ${ms(b.p95)} (max ${ms(b.max)})  ${verdict(b.p95 < TARGET_LOOP_P95_MS)}`);
  console.log(`BENCH_JSON ${JSON.stringify({ bench: "keys", gen: g, concurrent: b, idle: i })}`);
});
