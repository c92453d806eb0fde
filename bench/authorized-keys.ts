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
// Server CPU per request (from /proc, self-contained only) is printed beside latency:
// on a shared 2-core machine it is the figure that other load does not bend.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { generateEd25519 } from "../lib/keys/openssh-key";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { printProfile } from "./lib/cpuprofile";
import { CLIENT_KINDS, loadClient, type ClientKind, type LoadClient } from "./lib/http-load";
import { freshPostgres, authFor, procCpuSeconds, ROOT, startServer, threadSchedMs, type BenchServer } from "./lib/server";
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
  },
});
const concurrency = Number(args.concurrency);
const rounds = Number(args.rounds);
const scriptRuns = Number(args["script-runs"]);
const clients = args.clients.split(",").map((c) => c.trim()) as ClientKind[];
for (const c of clients) if (!CLIENT_KINDS.includes(c)) throw new Error(`--clients: ${c} is not one of ${CLIENT_KINDS.join(", ")}`);

function summary(samples: number[]): string {
  const f = (n: number) => `${n.toFixed(1)} ms`;
  return `p50 ${f(percentile(samples, 50))}  p90 ${f(percentile(samples, 90))}  p99 ${f(percentile(samples, 99))}  max ${f(Math.max(...samples))}`;
}

async function api(base: string, method: string, p: string, body?: unknown, token?: string): Promise<Response> {
  // The target's token for its own routes; the owner's API token for the rest.
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : authFor(base + p);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return res;
}

/** A workspace key and a booted target on a fresh server: what a live target looks like. */
async function setUp(base: string): Promise<{ target: string; token: string }> {
  const { workspaces } = (await (await api(base, "GET", "/api/workspaces")).json()) as { workspaces: { id: string }[] };
  const ws = workspaces[0]!.id;
  await api(base, "POST", `/api/workspaces/${ws}/key`);
  const reg = (await (await api(base, "POST", `/api/workspaces/${ws}/targets`, { name: "bench", host: "127.0.0.9", port: 22 })).json()) as {
    target: { id: string };
    token: string;
  };
  await api(
    base,
    "POST",
    `/api/targets/${reg.target.id}/boot`,
    { bootId: "bench-boot", port: 22, hostKeys: [generateEd25519("bench-host").publicKey] },
    reg.token,
  );
  return { target: reg.target.id, token: reg.token };
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
async function measure(kind: ClientKind, url: () => string, token: string, expected: number, server: BenchServer | null): Promise<Run> {
  const client = loadClient(kind, concurrency);
  try {
    await Promise.all(Array.from({ length: concurrency }, () => one(client, url(), token))); // warm-up: JIT, connections
    console.log(`\n${kind}: ${concurrency} concurrent × ${rounds} rounds`);
    const all: number[] = [];
    let errors = 0;
    const cpu0 = server ? procCpuSeconds(server.pid) : 0;
    const main0 = server ? threadSchedMs(server.pid) : null;
    const own0 = process.cpuUsage();
    const wall0 = performance.now();
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
    return { client: kind, p50: percentile(all, 50), p99: percentile(all, 99), reqPerS, errors, serverCpuMs, mainCpuMs, clientCpuMs };
  } finally {
    client.close();
  }
}

/** The shipped AuthorizedKeysCommand end to end (curl process included), as sshd runs it per login. */
async function scriptTimings(base: string, target: string, token: string, runs: number): Promise<number[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "meshia-bench-conf-"));
  const conf = path.join(dir, "target.conf");
  writeFileSync(conf, `MESHIA_URL=${base}\nMESHIA_TARGET_ID=${target}\nMESHIA_TARGET_TOKEN=${token}\n`, { mode: 0o600 });
  const script = path.join(ROOT, "scripts", "target", "meshia-authorized-keys");
  const out: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const code = await new Promise<number | null>((resolve) => spawn("/bin/sh", [script, conf, "mesh"], { stdio: "ignore" }).on("exit", resolve));
      if (code !== 0) throw new Error(`meshia-authorized-keys exited ${code}`);
      out.push(performance.now() - t0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
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
      ({ target, token } = await setUp(base));
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
    const expected = (await one(probe, url(), token)).keys;
    probe.close();
    if (expected === 0) console.warn("warning: the target gets no keys (not live, or no workspace key): measuring an empty answer");
    console.log(`GET ${url().replace(base, "")} against ${base}`);
    // Warm-up, not measured: JIT, the access log's first flushes, the key pool's first fill.
    const warm = loadClient("keepalive", concurrency);
    for (let i = 0; i < 10; i++) await Promise.all(Array.from({ length: concurrency }, () => one(warm, url(), token!)));
    warm.close();
    const runs: Run[] = [];
    for (const kind of clients) runs.push(await measure(kind, url, token, expected, server));
    lookups += 1 + concurrency * 10 + clients.length * concurrency * (rounds + 1);
    const errors = runs.reduce((n, r) => n + r.errors, 0);
    console.log("\nsummary (goal: p99 ≤ 10 ms at 200 concurrent, ≥ 5,000 req/s; a shared 2-core machine, client and server on it):");
    for (const r of runs) {
      const cpu =
        r.serverCpuMs === null || r.mainCpuMs === null
          ? ""
          : `, server CPU ${(r.serverCpuMs * 1000).toFixed(0)} µs/req (main thread ${(r.mainCpuMs * 1000).toFixed(0)} µs)`;
      console.log(
        `  ${r.client.padEnd(9)} p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  ${r.reqPerS} req/s${cpu}, client CPU ${(r.clientCpuMs * 1000).toFixed(0)} µs/req`,
      );
    }
    console.log(`BENCH_JSON ${JSON.stringify({ bench: "authkeys", database: args.postgres ? "postgres" : "pglite", concurrency, rounds, runs })}`);

    if (scriptRuns > 0) {
      const s = await scriptTimings(base, target, token, scriptRuns);
      lookups += scriptRuns;
      console.log(`shipped meshia-authorized-keys (sh + curl), ${scriptRuns} sequential runs: ${summary(s)}`);
    }
    if (errors > 0) process.exitCode = 1;
  } finally {
    await server?.stop();
    await pg?.drop();
    if (args.profile && server) {
      // The lean path's module: the window from the first lookup to the last.
      const p = printProfile(profDir, "lib/targets/authorized-keys-http.ts");
      if (p) console.log(`  ≈ ${((p.totalMs / lookups) * 1000).toFixed(0)} µs of server work per lookup (${lookups} lookups in the window, every client's)`);
    }
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
