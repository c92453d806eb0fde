// bench:terminal — the terminal bridge against the embedded target, side by side
// with a direct ssh2 client on the same target in the same run:
//   1. throughput of a large output, bridge (WebSocket, acking every frame) vs direct;
//   2. keystroke echo round trip, bridge vs direct;
//   3. server memory per idle session with many sessions open.
// The embedded target runs inside the server process, so its per-connection cost
// (ssh2 Server connection, pty) counts in the server's numbers too.
// Prints numbers and PASS/MISS per target; never fails on slowness.
import { randomBytes } from "node:crypto";
import { createWriteStream, rmSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { defer, run } from "./lib/cleanup";
import { Inspector } from "./lib/inspector";
import { defaultWorkspace, getJson, procCpuSeconds, procStatusBytes, ROOT, startServer, type BenchServer } from "./lib/server";
import { median, mib, ms, sleep, summary, table, verdict } from "./lib/stats";
import { BridgeShell, DirectShell, echoRoundTrips, runUntilMarker, type Shell } from "./lib/terminal-client";

const { values: args } = parseArgs({
  options: {
    mib: { type: "string", default: "128" },
    rounds: { type: "string", default: "3" },
    samples: { type: "string", default: "300" },
    sessions: { type: "string", default: "200" },
    only: { type: "string", default: "throughput,echo,memory" },
    "server-arg": { type: "string", multiple: true, default: [] },
    "no-inspect": { type: "boolean", default: false },
    /** For profiling one path alone: "bridge" or "direct" (ratios need both). */
    paths: { type: "string", default: "direct,bridge" },
  },
});
const SIZE_MIB = Number(args.mib);
const ROUNDS = Number(args.rounds);
const SAMPLES = Number(args.samples);
const SESSIONS = Number(args.sessions);
const ONLY = new Set(args.only.split(","));
const PATHS = new Set(args.paths.split(","));
const INSPECT_PORT = 3339;
const SIZE = { cols: 120, rows: 40 };

const TARGET_RATIO = 0.7;
const TARGET_ADDED_ECHO_MS = 2;
const TARGET_PER_SESSION = 1024 * 1024;

interface Target {
  id: string;
  kind: string;
  host: string;
  port: number;
}

/** A file of base64 text (76-column lines), so `cat` and not a generator is what the target runs. */
async function writeDataFile(file: string, bytes: number): Promise<void> {
  const out = createWriteStream(file);
  const raw = 57 * 1024; // 57 raw bytes → one 76-char line
  let written = 0;
  while (written < bytes) {
    const b64 = randomBytes(raw).toString("base64");
    const lines = b64.match(/.{1,76}/g)!.join("\n") + "\n";
    const chunk = lines.slice(0, bytes - written);
    written += chunk.length;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

async function throughputRound(shell: Shell, file: string, server: BenchServer): Promise<{ mibps: number; bytes: number; ms: number; serverCpu: number }> {
  const cpu0 = procCpuSeconds(server.pid);
  const r = await runUntilMarker(shell, `cat ${file}`, 600_000);
  const serverCpu = procCpuSeconds(server.pid) - cpu0;
  return { mibps: r.bytes / 1024 / 1024 / (r.ms / 1000), bytes: r.bytes, ms: r.ms, serverCpu };
}

run(async () => {
  const report: string[] = [];
  const json: Record<string, unknown> = { bench: "terminal" };
  const inspect = !args["no-inspect"] && ONLY.has("memory");
  const server = await startServer({
    name: "terminal",
    nodeArgs: [...(inspect ? [`--inspect=127.0.0.1:${INSPECT_PORT}`] : []), ...args["server-arg"]],
  });
  const base = server.base;
  const ws = await defaultWorkspace(base);
  const { targets } = await getJson<{ targets: Target[] }>(`${base}/api/workspaces/${ws}/targets`);
  const target = targets.find((t) => t.kind === "local");
  if (!target) throw new Error("no embedded local target");
  // The workspace key, generated now and held in memory only.
  const keyRes = await fetch(`${base}/api/workspaces/${ws}/key`, { method: "POST" });
  if (!keyRes.ok) throw new Error(`key: ${keyRes.status}`);
  const pem = await keyRes.text();
  console.log(`server pid ${server.pid} on ${base}; embedded target ${target.host}:${target.port}`);

  if (ONLY.has("throughput")) {
    const file = path.join(ROOT, ".tmp", `bench-data-${process.pid}.b64`);
    defer(() => rmSync(file, { force: true }));
    await writeDataFile(file, SIZE_MIB * 1024 * 1024);
    const warm = path.join(ROOT, ".tmp", `bench-warm-${process.pid}.b64`);
    defer(() => rmSync(warm, { force: true }));
    await writeDataFile(warm, 32 * 1024 * 1024); // enough for the JIT to settle before measuring

    const direct = await DirectShell.open(target, pem, SIZE);
    defer(() => direct.close());
    const bridge = await BridgeShell.open(base, ws, target.id, SIZE);
    defer(() => bridge.close());
    await throughputRound(direct, warm, server);
    await throughputRound(bridge, warm, server);

    console.log(`\n[1] throughput: cat of a ${SIZE_MIB} MiB base64 file (through a ${SIZE.cols}x${SIZE.rows} pty), ${ROUNDS} rounds, alternating`);
    const d: number[] = [];
    const b: number[] = [];
    const ratios: number[] = [];
    const cpuPerMiB = { direct: [] as number[], bridge: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      const order = (r % 2 ? [bridge, direct] : [direct, bridge]).filter((sh: Shell) => PATHS.has(sh.kind));
      const res: Record<string, Awaited<ReturnType<typeof throughputRound>>> = {};
      for (const s of order) res[s.kind] = await throughputRound(s, file, server);
      const none = { mibps: NaN, bytes: NaN, ms: NaN, serverCpu: NaN };
      const rd = res.direct ?? none;
      const rb = res.bridge ?? none;
      d.push(rd.mibps);
      b.push(rb.mibps);
      ratios.push(rb.mibps / rd.mibps);
      cpuPerMiB.direct.push((rd.serverCpu * 1000) / (rd.bytes / 1048576));
      cpuPerMiB.bridge.push((rb.serverCpu * 1000) / (rb.bytes / 1048576));
      console.log(
        `  round ${r + 1}: direct ${rd.mibps.toFixed(1)} MiB/s (${mib(rd.bytes, 1)} in ${ms(rd.ms, 0)}, server cpu ${rd.serverCpu.toFixed(2)} s)` +
          `  bridge ${rb.mibps.toFixed(1)} MiB/s (${mib(rb.bytes, 1)} in ${ms(rb.ms, 0)}, server cpu ${rb.serverCpu.toFixed(2)} s)  ratio ${(rb.mibps / rd.mibps).toFixed(2)}`,
      );
    }
    const ratio = median(ratios);
    report.push(
      `throughput: direct ${median(d).toFixed(1)} MiB/s, bridge ${median(b).toFixed(1)} MiB/s, ratio ${(ratio * 100).toFixed(0)}% (target >= ${TARGET_RATIO * 100}%)  ${verdict(ratio >= TARGET_RATIO)}`,
      `  server CPU per MiB: direct ${median(cpuPerMiB.direct).toFixed(1)} ms, bridge ${median(cpuPerMiB.bridge).toFixed(1)} ms`,
    );
    json.throughput = { sizeMiB: SIZE_MIB, direct: d, bridge: b, ratios, ratio, cpuMsPerMiB: cpuPerMiB };
    await bridge.close();
    await direct.close();
  }

  if (ONLY.has("echo")) {
    console.log(`\n[2] keystroke echo: ${SAMPLES} samples each, one char into \`cat\` on a raw tty, in blocks alternating direct/bridge`);
    const direct = await DirectShell.open(target, pem, SIZE);
    defer(() => direct.close());
    const bridge = await BridgeShell.open(base, ws, target.id, SIZE);
    defer(() => bridge.close());
    const d: number[] = [];
    const b: number[] = [];
    const blocks = 4;
    const per = Math.ceil(SAMPLES / blocks);
    // The first block of each carries the warm-up (and puts `cat` in place).
    d.push(...(await echoRoundTrips(direct, per)));
    b.push(...(await echoRoundTrips(bridge, per)));
    for (let i = 1; i < blocks; i++) {
      d.push(...(await echoRoundTrips(direct, per, 0, true)));
      b.push(...(await echoRoundTrips(bridge, per, 0, true)));
    }
    const sd = summary(d);
    const sb = summary(b);
    const added = sb.p50 - sd.p50;
    console.log(
      table([
        ["echo round trip", "n", "p50", "p95", "p99", "max"],
        ["direct ssh2", String(sd.n), ms(sd.p50, 2), ms(sd.p95, 2), ms(sd.p99, 2), ms(sd.max, 2)],
        ["bridge (WebSocket)", String(sb.n), ms(sb.p50, 2), ms(sb.p95, 2), ms(sb.p99, 2), ms(sb.max, 2)],
      ]).replace(/^/gm, "  "),
    );
    report.push(
      `echo: direct p50 ${ms(sd.p50, 2)} p99 ${ms(sd.p99, 2)}; bridge p50 ${ms(sb.p50, 2)} p99 ${ms(sb.p99, 2)}; added p50 ${ms(added, 2)} (target <= ${TARGET_ADDED_ECHO_MS} ms)  ${verdict(added <= TARGET_ADDED_ECHO_MS)}`,
    );
    json.echo = { direct: sd, bridge: sb, addedP50: added };
    await bridge.close();
    await direct.close();
  }

  if (ONLY.has("memory")) {
    console.log(`\n[3] memory: ${SESSIONS} idle terminal sessions (bridge + embedded target, same process)`);
    const inspector = inspect ? await Inspector.connect(INSPECT_PORT).catch(() => null) : null;
    if (inspector) defer(() => inspector.close());
    // Warm the path once so that module loading and first-use caches are not counted per session.
    const warm = await BridgeShell.open(base, ws, target.id, SIZE);
    await runUntilMarker(warm, "true", 10_000);
    await warm.close();
    await sleep(3000);
    const heap0 = await inspector?.memory();
    const rss0 = procStatusBytes(server.pid);
    const shells: BridgeShell[] = [];
    defer(async () => {
      for (const s of shells.splice(0)) await s.close();
    });
    const t0 = performance.now();
    for (let i = 0; i < SESSIONS; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, SESSIONS - i) }, () => BridgeShell.open(base, ws, target.id, SIZE, 120_000)),
      );
      shells.push(...batch);
    }
    const openMs = performance.now() - t0;
    // Each shell prints its prompt; then nothing happens. Let timers, GC and allocators settle.
    await sleep(10_000);
    const heap1 = await inspector?.memory();
    const rss1 = procStatusBytes(server.pid);
    const rssPer = (rss1 - rss0) / SESSIONS;
    const heapPer = heap0 && heap1 ? (heap1.heapUsed - heap0.heapUsed) / SESSIONS : NaN;
    const extPer = heap0 && heap1 ? (heap1.external + heap1.arrayBuffers - heap0.external - heap0.arrayBuffers) / SESSIONS : NaN;
    console.log(`  opened ${SESSIONS} sessions in ${ms(openMs, 0)}; RSS ${mib(rss0, 1)} → ${mib(rss1, 1)}`);
    if (heap0 && heap1) console.log(`  heapUsed ${mib(heap0.heapUsed, 1)} → ${mib(heap1.heapUsed, 1)}; external ${mib(heap0.external, 1)} → ${mib(heap1.external, 1)} (after forced GC)`);
    for (const s of shells.splice(0)) await s.close();
    await sleep(3000);
    const rss2 = procStatusBytes(server.pid);
    console.log(`  after closing them all: RSS ${mib(rss2, 1)}`);
    report.push(
      `memory: ${(rssPer / 1024).toFixed(0)} KiB RSS per idle session${heap0 ? `, ${(heapPer / 1024).toFixed(0)} KiB JS heap + ${(extPer / 1024).toFixed(0)} KiB external` : ""} (target <= 1024 KiB RSS)  ${verdict(rssPer <= TARGET_PER_SESSION)}`,
    );
    json.memory = { sessions: SESSIONS, rss0, rss1, rss2, rssPerSession: rssPer, heapPerSession: heapPer, externalPerSession: extPer };
  }

  console.log("\nsummary (noisy machine: other engineers' servers and browsers share its 2 cores)");
  for (const line of report) console.log(`  ${line}`);
  console.log(`BENCH_JSON ${JSON.stringify(json)}`);
});
