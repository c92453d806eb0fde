// Load on GET /api/targets/{id}/authorized-keys: the request sshd's AuthorizedKeysCommand
// makes at every login on an OpenSSH target. Fires CONCURRENCY simultaneous GETs per
// round, several rounds, checks every answer, and prints p50/p90/p99/max.
//
//   npx next build && npm run bench:authkeys
//       self-contained: starts the production server on 127.0.0.1:3321 with a fresh
//       data directory (embedded PGlite), registers a target, reports its boot,
//       generates a workspace key, measures, stops the server and removes its data.
//   npm run bench:authkeys -- --url http://127.0.0.1:3000 --target <id> --token <mtt_…>
//       against a running server (or MESHIA_BENCH_URL / MESHIA_BENCH_TARGET / MESHIA_BENCH_TOKEN).
//   Options: --concurrency 200 --rounds 10 --port 3321 --script-runs 20 (0 to skip),
//   --postgres postgres://root@127.0.0.1:5432/test: the self-contained server uses a
//   fresh database on that (local) Postgres, dropped afterwards, instead of PGlite.
//   --clients keepalive,new (bench/lib/http-load.ts; also http, fetch): each is measured in
//   turn. keepalive reuses one connection per concurrent caller; new opens a connection
//   per request, as sshd's curl does at every login.
//   --profile: the self-contained server runs under --cpu-prof; prints where its time went.
//   --floor on|off (on): also measures a bare node:http server answering the same bytes
//   (bench/lib/floor-server.ts) with the same clients: the machine's floor, beside ours.
//   --rates 1000,2500,5000 (empty to skip) --rate-seconds 3: open-loop runs, requests
//   arriving at that rate from up to CONCURRENCY connections (a login storm of that
//   rate), latency from each request's scheduled time (bench/lib/open-loop.ts).
// Server CPU per request (from /proc, self-contained only) is printed beside latency:
// on a shared 2-core machine it is the figure that other load does not bend.
import { randomBytes } from "node:crypto";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { printProfile, profileWindow } from "./lib/cpuprofile";
import { scriptTimings, setUpTarget } from "./lib/authkeys-target";
import { startFloorServer } from "./lib/floor-server";
import { CLIENT_KINDS, loadClient, type Answer, type ClientKind, type LoadClient } from "./lib/http-load";
import { openLoop, type OpenLoopResult } from "./lib/open-loop";
import { freshPostgres, procCpuSeconds, ROOT, startServer, threadSchedMs, type BenchServer } from "./lib/server";
import { percentile } from "./lib/stats";

const { values: args } = parseArgs({
  options: {
    url: { type: "string", default: process.env.MESHIA_BENCH_URL },
    target: { type: "string", default: process.env.MESHIA_BENCH_TARGET },
    token: { type: "string", default: process.env.MESHIA_BENCH_TOKEN },
    concurrency: { type: "string", default: "200" },
    rounds: { type: "string", default: "10" },
    port: { type: "string", default: "3321" },
    "script-runs": { type: "string", default: "20" },
    postgres: { type: "string" },
    clients: { type: "string", default: "keepalive,new" },
    profile: { type: "boolean", default: false },
    floor: { type: "string", default: "on" },
    rates: { type: "string", default: "1000,2500,5000" },
    "rate-seconds": { type: "string", default: "3" },
  },
});
const concurrency = Number(args.concurrency);
const rounds = Number(args.rounds);
const scriptRuns = Number(args["script-runs"]);
const clients = args.clients.split(",").map((c) => c.trim()) as ClientKind[];
const rates = args.rates
  .split(",")
  .filter((r) => r.trim())
  .map(Number);
const rateSeconds = Number(args["rate-seconds"]);
const withFloor = args.floor !== "off";
for (const c of clients) if (!CLIENT_KINDS.includes(c)) throw new Error(`--clients: ${c} is not one of ${CLIENT_KINDS.join(", ")}`);

function summary(samples: number[]): string {
  const f = (n: number) => `${n.toFixed(1)} ms`;
  return `p50 ${f(percentile(samples, 50))}  p90 ${f(percentile(samples, 90))}  p99 ${f(percentile(samples, 99))}  max ${f(Math.max(...samples))}`;
}

async function one(client: LoadClient, url: string, token: string): Promise<{ ms: number; ok: boolean; keys: number }> {
  const t0 = performance.now();
  try {
    // identity: sshd's curl asks for no compression, and gzip would be a cost real logins never pay.
    const a = await client.get(url, { authorization: `Bearer ${token}`, "accept-encoding": "identity" });
    return { ms: a.ms, ok: a.status === 200, keys: a.body.split("\n").filter(Boolean).length };
  } catch {
    return { ms: performance.now() - t0, ok: false, keys: 0 };
  }
}

interface Run {
  client: ClientKind;
  /** "ours" or "floor" (the bare server). */
  server: string;
  p50: number;
  p99: number;
  reqPerS: number;
  errors: number;
  /** Server CPU per request (user+system, from /proc), when the bench started the server: all threads (the key pool's generations run in libuv's pool). */
  serverCpuMs: number | null;
  /** The server's main thread's time on a CPU per request: where lookups run. */
  mainCpuMs: number | null;
  clientCpuMs: number;
}

/** CONCURRENCY simultaneous GETs per round, `rounds` rounds, with one kind of client. */
async function measure(kind: ClientKind, url: () => string, token: string, expected: number, server: { pid: number } | null, label = "ours"): Promise<Run> {
  const client = loadClient(kind, concurrency);
  try {
    await Promise.all(Array.from({ length: concurrency }, () => one(client, url(), token))); // warm-up: JIT, connections
    console.log(`\n${label === "ours" ? "" : `${label}, `}${kind}: ${concurrency} concurrent × ${rounds} rounds`);
    const all: number[] = [];
    let errors = 0;
    const cpu0 = server ? procCpuSeconds(server.pid) : 0;
    const main0 = server ? threadSchedMs(server.pid) : null;
    const own0 = process.cpuUsage();
    const wall0 = performance.now();
    const window = label === "ours" ? profileWindow() : null;
    for (let r = 1; r <= rounds; r++) {
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: concurrency }, () => one(client, url(), token)));
      const took = performance.now() - t0;
      // Every answer must be the full key list: a fast wrong answer is a failed login.
      const bad = results.filter((x) => !x.ok || x.keys !== expected).length;
      errors += bad;
      const ms = results.map((x) => x.ms);
      all.push(...ms);
      console.log(
        `round ${String(r).padStart(2)}: ${summary(ms)}  (${concurrency} in ${took.toFixed(0)} ms, ${Math.round((concurrency / took) * 1000)} req/s${bad ? `, ${bad} wrong` : ""})`,
      );
    }
    const wall = performance.now() - wall0;
    window?.end();
    const own = process.cpuUsage(own0);
    const serverCpuMs = server ? ((procCpuSeconds(server.pid) - cpu0) * 1000) / all.length : null;
    const main1 = server ? threadSchedMs(server.pid) : null;
    const mainCpuMs = main0 && main1 ? (main1.onCpu - main0.onCpu) / all.length : null;
    const waitedMs = main0 && main1 ? main1.waiting - main0.waiting : null;
    const clientCpuMs = (own.user + own.system) / 1000 / all.length;
    const reqPerS = Math.round((all.length / wall) * 1000);
    console.log(
      `${kind}, all ${all.length}: ${summary(all)}; ${reqPerS} req/s; ${errors} errors (${expected} keys per answer); CPU per request: server ${serverCpuMs === null ? "?" : `${(serverCpuMs * 1000).toFixed(0)} µs`} (main thread ${mainCpuMs === null ? "?" : `${(mainCpuMs * 1000).toFixed(0)} µs`}), client ${(clientCpuMs * 1000).toFixed(0)} µs${waitedMs === null ? "" : `; the server's main thread waited ${waitedMs.toFixed(0)} ms for a CPU (of ${wall.toFixed(0)} ms)`}`,
    );
    return { client: kind, server: label, p50: percentile(all, 50), p99: percentile(all, 99), reqPerS, errors, serverCpuMs, mainCpuMs, clientCpuMs };
  } finally {
    client.close();
  }
}

interface OpenRun {
  server: string;
  client: ClientKind;
  rate: number;
  sent: number;
  failed: number;
  result: OpenLoopResult;
}

/** One open-loop run: `rate` lookups per second for --rate-seconds, each answer checked. */
async function openRun(label: string, kind: ClientKind, rate: number, url: () => string, token: string, expected: number): Promise<OpenRun> {
  const client = loadClient(kind, concurrency);
  try {
    const headers = { authorization: `Bearer ${token}`, "accept-encoding": "identity" };
    // Warm the connections (keep-alive) so the run measures lookups, not connection setup.
    await Promise.all(Array.from({ length: concurrency }, () => client.get(url(), headers).catch(() => null)));
    const ok = (a: Answer) => a.status === 200 && a.body.split("\n").filter(Boolean).length === expected;
    const window = label === "ours" ? profileWindow() : null;
    const result = await openLoop(() => client.get(url(), headers), ok, { rate, seconds: rateSeconds, inFlight: concurrency });
    window?.end();
    return { server: label, client: kind, rate, sent: result.sent, failed: result.failed, result };
  } finally {
    client.close();
  }
}

async function main(): Promise<void> {
  let server: BenchServer | null = null;
  let pg: { url: string; drop: () => Promise<void> } | null = null;
  let base = args.url?.replace(/\/$/, "");
  let target = args.target;
  let token = args.token;
  const profDir = path.join(ROOT, ".tmp", `bench-prof-authkeys-${process.pid}`);
  let lookups = 0;
  try {
    if (!base || !target || !token) {
      if (base || target || token) throw new Error("give all of --url, --target and --token, or none (self-contained)");
      const t0 = performance.now();
      pg = args.postgres ? await freshPostgres(args.postgres) : null;
      const port = Number(args.port);
      server = await startServer({
        name: "authkeys",
        nodeArgs: args.profile ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [],
        portRange: [port, port],
        env: { MESHIA_LOCAL_TARGET: "off", DATABASE_URL: pg?.url ?? "", MESHIA_PUBLIC_URL: `http://127.0.0.1:${port}` },
      });
      base = server.base;
      ({ target, token } = await setUpTarget(base));
      console.log(
        `started the server on ${args.postgres ? "Postgres" : "PGlite"} (${((performance.now() - t0) / 1000).toFixed(1)} s), registered and booted a target`,
      );
    }
    const path0 = `/api/targets/${target}/authorized-keys`;
    // What the shipped script sends: the user, and for the audit sshd's %C (a client
    // port of its own per login, 1000 of them here) and %f.
    let n = 0;
    const fp = `SHA256:${randomBytes(32).toString("base64").slice(0, 43)}`;
    const url = () =>
      `${base}${path0}?user=mesh&client=${encodeURIComponent(`127.0.0.1 ${40000 + (n++ % 1000)} 127.0.0.9 22`)}&fingerprint=${encodeURIComponent(fp)}`;
    const probe = loadClient("keepalive", 1);
    const first = await probe.get(url(), { authorization: `Bearer ${token}`, "accept-encoding": "identity" });
    const expected = first.status === 200 ? first.body.split("\n").filter(Boolean).length : 0;
    probe.close();
    if (expected === 0) console.warn("warning: the target gets no keys (not live, or no workspace key): measuring an empty answer");
    console.log(`GET ${url().replace(base, "")} against ${base}`);
    // Warm-up, not measured: JIT, the access log's first flushes, the key pool's first fill.
    const warm = loadClient("keepalive", concurrency);
    for (let i = 0; i < 10; i++) await Promise.all(Array.from({ length: concurrency }, () => one(warm, url(), token!)));
    warm.close();
    // Same clients, same shapes, against a server that does nothing but answer these
    // bytes; each of our runs is followed by the floor's, so both see the same machine.
    const floor = withFloor ? await startFloorServer(first.body) : null;
    const floorUrl = () => `${floor!.base}${path0}`;
    const runs: Run[] = [];
    const open: OpenRun[] = [];
    try {
      for (const kind of clients) {
        runs.push(await measure(kind, url, token, expected, server));
        if (floor) runs.push(await measure(kind, floorUrl, token, expected, floor, "floor"));
      }
      for (const kind of clients)
        for (const rate of rates) {
          open.push(await openRun("ours", kind, rate, url, token, expected));
          if (floor) open.push(await openRun("floor", kind, rate, floorUrl, token, expected));
        }
    } finally {
      await floor?.stop();
    }
    lookups += clients.length * concurrency * rounds + open.filter((r) => r.server === "ours").reduce((n, r) => n + r.sent, 0);
    const errors = runs.reduce((n, r) => n + r.errors, 0) + open.reduce((n, r) => n + r.failed, 0);
    console.log(
      `\nsummary, ${concurrency} at once per round (closed loop: a burst of logins; a shared 2-core machine, client and server on it${withFloor ? '; "floor" is a bare node:http server answering the same bytes' : ""}):`,
    );
    for (const r of runs) {
      const cpu =
        r.serverCpuMs === null || r.mainCpuMs === null
          ? ""
          : `, server CPU ${(r.serverCpuMs * 1000).toFixed(0)} µs/req (main thread ${(r.mainCpuMs * 1000).toFixed(0)} µs)`;
      console.log(
        `  ${r.server.padEnd(5)} ${r.client.padEnd(9)} p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  ${r.reqPerS} req/s${cpu}, client CPU ${(r.clientCpuMs * 1000).toFixed(0)} µs/req`,
      );
    }
    if (open.length) {
      console.log(`\nopen loop: requests arriving at a fixed rate for ${rateSeconds} s, up to ${concurrency} in flight, latency from the scheduled time:`);
      for (const r of open) {
        const s = r.result;
        const floorP99 = open.find((f) => f.server === "floor" && f.client === r.client && f.rate === r.rate)?.result.lat;
        const vsFloor = r.server === "ours" && floorP99 ? `; floor p99 ${percentile(floorP99, 99).toFixed(1)} ms` : "";
        const verdict = r.server === "ours" && r.rate >= 5000 ? `  ${percentile(s.lat, 99) <= 10 ? "PASS" : "MISS"} (p99 ≤ 10 ms at 5,000/s${vsFloor})` : "";
        console.log(
          `  ${r.server.padEnd(5)} ${r.client.padEnd(9)} ${String(r.rate).padStart(5)}/s  p50 ${percentile(s.lat, 50).toFixed(1)} ms  p99 ${percentile(s.lat, 99).toFixed(1)} ms  max ${Math.max(...s.lat).toFixed(1)} ms  ${s.failed} failed, client behind by ≤ ${s.maxLagMs.toFixed(1)} ms${verdict}`,
        );
      }
    }
    const openJson = open.map((r) => ({
      server: r.server,
      client: r.client,
      rate: r.rate,
      p50: percentile(r.result.lat, 50),
      p99: percentile(r.result.lat, 99),
      failed: r.failed,
    }));
    console.log(
      `BENCH_JSON ${JSON.stringify({ bench: "authkeys", database: args.postgres ? "postgres" : "pglite", concurrency, rounds, runs, open: openJson })}`,
    );

    if (scriptRuns > 0) {
      const s = await scriptTimings(base, target, token, scriptRuns);
      console.log(`shipped meshia-authorized-keys (sh + curl), ${scriptRuns} sequential runs: ${summary(s)}`);
    }
    if (errors > 0) process.exitCode = 1;
  } finally {
    await server?.stop();
    await pg?.drop();
    if (args.profile && server) {
      // The measured rounds of our server (closed and open loop), from the first to the last.
      const p = printProfile(profDir);
      if (p) console.log(`  ≈ ${((p.totalMs / lookups) * 1000).toFixed(0)} µs of main-thread work per lookup (${lookups} measured lookups in the window)`);
    }
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
