// bench:terminal — the terminal bridge side by side with a direct ssh2 client on the
// same target in the same run, on two targets:
//   - a real OpenSSH sshd (the e2e harness, e2e/support/sshd.ts, as an operator sets
//     one up), which is not the bottleneck: the server process then runs the bridge
//     alone, so its CPU is the bridge's own cost;
//   - the embedded target, which runs inside the server process (its ssh2 Server
//     connection and pty count in the server's numbers too, and cap every path near
//     60 MiB/s).
// Phases:
//   1. throughput of a large output, bridge (WebSocket, acking every frame) vs direct;
//   2. keystroke echo round trip, bridge vs direct;
//   3. server memory per idle session with many sessions open (embedded target; run
//      first, on a fresh server, so that the baseline is not inflated by the flood).
// Goals (issue 10): the bridge adds <= 2.5 ms of server CPU per MiB, reaches >= 95%
// of direct throughput, and echo p99 <= direct p99 + 1 ms.
// Prints numbers and PASS/MISS per goal; never fails on slowness.
import { randomBytes } from "node:crypto";
import { createWriteStream, rmSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { defer, run } from "./lib/cleanup";
import { crossInstancePhase } from "./lib/cross-instance";
import { printProfile, profileWindow } from "./lib/cpuprofile";
import { Inspector } from "./lib/inspector";
import { memoryPhase } from "./lib/memory-phase";
import { defaultWorkspace, getJson, procCpuSeconds, ROOT, startServer, threadSchedMs, type BenchServer } from "./lib/server";
import { openSshTarget, type Target } from "./lib/sshd-target";
import { median, mib, ms, summary, table, verdict } from "./lib/stats";
import { BridgeShell, DirectShell, echoRoundTrips, runUntilMarker, type Shell } from "./lib/terminal-client";

const { values: args } = parseArgs({
  options: {
    mib: { type: "string", default: "128" },
    rounds: { type: "string", default: "3" },
    samples: { type: "string", default: "300" },
    sessions: { type: "string", default: "200" },
    /** proxy: throughput and echo through the cross-instance path (needs DATABASE_URL). */
    only: { type: "string", default: "throughput,echo,memory,proxy" },
    "server-arg": { type: "string", multiple: true, default: [] },
    "no-inspect": { type: "boolean", default: false },
    /** For profiling one path alone: "bridge" or "direct" (ratios need both). */
    paths: { type: "string", default: "direct,bridge" },
    /** Runs the throughput/echo server under --cpu-prof and prints where its time went. */
    profile: { type: "boolean", default: false },
    /** Targets for throughput and echo: "openssh" (a real sshd), "embedded", or both. */
    targets: { type: "string", default: "openssh,embedded" },
  },
});
const SIZE_MIB = Number(args.mib);
const ROUNDS = Number(args.rounds);
const SAMPLES = Number(args.samples);
const SESSIONS = Number(args.sessions);
const ONLY = new Set(args.only.split(","));
const PATHS = new Set(args.paths.split(","));
const TARGETS = new Set(args.targets.split(","));
const INSPECT_PORT = 3339;
const SIZE = { cols: 120, rows: 40 };

const TARGET_RATIO = 0.95;
const TARGET_ADDED_CPU_MS_PER_MIB = 2.5;
const TARGET_ADDED_ECHO_P99_MS = 1;

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

async function throughputRound(
  shell: Shell,
  file: string,
  server: BenchServer,
): Promise<{ mibps: number; bytes: number; ms: number; serverCpu: number; clientCpu: number; starved: number }> {
  const cpu0 = procCpuSeconds(server.pid);
  const client0 = process.cpuUsage();
  const sched0 = threadSchedMs(server.pid);
  const r = await runUntilMarker(shell, `cat ${file}`, 600_000);
  const serverCpu = procCpuSeconds(server.pid) - cpu0;
  const c = process.cpuUsage(client0);
  // Share of the round the server's main thread was runnable but had no CPU (other processes had both).
  const starved = (threadSchedMs(server.pid).waiting - sched0.waiting) / r.ms;
  return { mibps: r.bytes / 1024 / 1024 / (r.ms / 1000), bytes: r.bytes, ms: r.ms, serverCpu, clientCpu: (c.user + c.system) / 1e6, starved };
}

interface Ctx {
  /** Which target throughput and echo run on ("openssh" or "embedded"). */
  label: string;
  server: BenchServer;
  base: string;
  ws: string;
  target: Target;
  pem: string;
  inspector: Inspector | null;
  report: Record<string, string[]>;
  json: Record<string, unknown>;
}

async function throughputPhase(ctx: Ctx): Promise<void> {
  const { server, base, ws, target, pem } = ctx;
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
  console.log(`\n[${ctx.label}] SSH cipher negotiated by the direct client: ${direct.negotiated} (the bridge offers the same list, lib/ssh/bridge.ts)`);

  console.log(`\n[${ctx.label}] throughput: cat of a ${SIZE_MIB} MiB base64 file (through a ${SIZE.cols}x${SIZE.rows} pty), ${ROUNDS} rounds, alternating`);
  console.log(
    "  (server: the Meshia process; client: this bench process; starved: share of the round the server's main thread was runnable but waiting for a CPU)",
  );
  const d: number[] = [];
  const b: number[] = [];
  const ratios: number[] = [];
  const cpuPerMiB = { direct: [] as number[], bridge: [] as number[] };
  const clientPerMiB = { direct: [] as number[], bridge: [] as number[] };
  const measured = profileWindow();
  for (let r = 0; r < ROUNDS; r++) {
    const order = (r % 2 ? [bridge, direct] : [direct, bridge]).filter((sh: Shell) => PATHS.has(sh.kind));
    const res: Record<string, Awaited<ReturnType<typeof throughputRound>>> = {};
    for (const s of order) res[s.kind] = await throughputRound(s, file, server);
    const none = { mibps: NaN, bytes: NaN, ms: NaN, serverCpu: NaN, clientCpu: NaN, starved: NaN };
    const rd = res.direct ?? none;
    const rb = res.bridge ?? none;
    d.push(rd.mibps);
    b.push(rb.mibps);
    ratios.push(rb.mibps / rd.mibps);
    cpuPerMiB.direct.push((rd.serverCpu * 1000) / (rd.bytes / 1048576));
    cpuPerMiB.bridge.push((rb.serverCpu * 1000) / (rb.bytes / 1048576));
    clientPerMiB.direct.push((rd.clientCpu * 1000) / (rd.bytes / 1048576));
    clientPerMiB.bridge.push((rb.clientCpu * 1000) / (rb.bytes / 1048576));
    const line = (x: typeof rd) =>
      `${x.mibps.toFixed(1)} MiB/s (${mib(x.bytes, 1)} in ${ms(x.ms, 0)}, server ${((x.serverCpu * 1000) / (x.bytes / 1048576)).toFixed(1)} ms/MiB, client ${((x.clientCpu * 1000) / (x.bytes / 1048576)).toFixed(1)} ms/MiB, starved ${(x.starved * 100).toFixed(0)}%)`;
    console.log(`  round ${r + 1}: direct ${line(rd)}\n           bridge ${line(rb)}  ratio ${(rb.mibps / rd.mibps).toFixed(2)}`);
  }
  measured.end();
  const ratio = median(ratios);
  const cpuD = median(cpuPerMiB.direct);
  const cpuB = median(cpuPerMiB.bridge);
  const added = cpuB - cpuD;
  // The server's "added" CPU includes being the SSH client (decrypt, packet parsing,
  // window adjusts), which on the direct path is this process's work: the direct
  // client's CPU per MiB is that share (it also holds this bench's own per-chunk
  // scan for the end marker, which the bridge path's client does too).
  const sshClient = median(clientPerMiB.direct);
  const net = added - sshClient;
  console.log(
    table([
      ["", "throughput", "server CPU", "client CPU"],
      ["direct ssh2", `${median(d).toFixed(1)} MiB/s`, `${cpuD.toFixed(2)} ms/MiB`, `${median(clientPerMiB.direct).toFixed(2)} ms/MiB`],
      ["bridge", `${median(b).toFixed(1)} MiB/s`, `${cpuB.toFixed(2)} ms/MiB`, `${median(clientPerMiB.bridge).toFixed(2)} ms/MiB`],
    ]).replace(/^/gm, "  "),
  );
  if (!PATHS.has("direct") || !PATHS.has("bridge")) {
    // One path alone (for a profile): its numbers, no comparison.
    (ctx.report[ctx.label] ??= []).push(
      `throughput (${[...PATHS].join(",")} only): ${median(PATHS.has("bridge") ? b : d).toFixed(1)} MiB/s, server CPU ${(PATHS.has("bridge") ? cpuB : cpuD).toFixed(2)} ms/MiB`,
    );
    ctx.json[`throughput-${ctx.label}`] = { sizeMiB: SIZE_MIB, direct: d, bridge: b, cpuMsPerMiB: cpuPerMiB, clientCpuMsPerMiB: clientPerMiB };
    await bridge.close();
    await direct.close();
    return;
  }
  (ctx.report[ctx.label] ??= []).push(
    `throughput: direct ${median(d).toFixed(1)} MiB/s, bridge ${median(b).toFixed(1)} MiB/s (medians); bridge/direct ${(ratio * 100).toFixed(0)}% (median of the per-round ratios; goal >= ${TARGET_RATIO * 100}%)  ${verdict(ratio >= TARGET_RATIO)}`,
    `server CPU per MiB: direct ${cpuD.toFixed(2)} ms, bridge ${cpuB.toFixed(2)} ms; the bridge adds ${added.toFixed(2)} ms/MiB in total (goal <= ${TARGET_ADDED_CPU_MS_PER_MIB})  ${verdict(added <= TARGET_ADDED_CPU_MS_PER_MIB)}`,
    `  of which being the SSH client (the direct path's client CPU, ${sshClient.toFixed(2)} ms/MiB): the bridge net of it adds ${net.toFixed(2)} ms/MiB (goal <= ${TARGET_ADDED_CPU_MS_PER_MIB})  ${verdict(net <= TARGET_ADDED_CPU_MS_PER_MIB)}`,
  );
  ctx.json[`throughput-${ctx.label}`] = {
    sizeMiB: SIZE_MIB,
    direct: d,
    bridge: b,
    ratios,
    ratio,
    cpuMsPerMiB: cpuPerMiB,
    clientCpuMsPerMiB: clientPerMiB,
    addedCpuMsPerMiB: added,
    sshClientCpuMsPerMiB: sshClient,
    netAddedCpuMsPerMiB: net,
    cipher: direct.negotiated,
  };
  await bridge.close();
  await direct.close();
}

async function echoPhase(ctx: Ctx): Promise<void> {
  const { base, ws, target, pem } = ctx;
  console.log(`\n[${ctx.label}] keystroke echo: ${SAMPLES} samples each, one char into \`cat\` on a raw tty, in blocks alternating direct/bridge`);
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
  const added = sb.p99 - sd.p99;
  console.log(
    table([
      ["echo round trip", "n", "p50", "p95", "p99", "max"],
      ["direct ssh2", String(sd.n), ms(sd.p50, 2), ms(sd.p95, 2), ms(sd.p99, 2), ms(sd.max, 2)],
      ["bridge (WebSocket)", String(sb.n), ms(sb.p50, 2), ms(sb.p95, 2), ms(sb.p99, 2), ms(sb.max, 2)],
    ]).replace(/^/gm, "  "),
  );
  (ctx.report[ctx.label] ??= []).push(
    `echo: direct p50 ${ms(sd.p50, 2)} p99 ${ms(sd.p99, 2)}; bridge p50 ${ms(sb.p50, 2)} p99 ${ms(sb.p99, 2)}; added p99 ${ms(added, 2)} (goal <= ${TARGET_ADDED_ECHO_P99_MS} ms)  ${verdict(added <= TARGET_ADDED_ECHO_P99_MS)}`,
  );
  ctx.json[`echo-${ctx.label}`] = { direct: sd, bridge: sb, addedP99: added, addedP50: sb.p50 - sd.p50 };
  await bridge.close();
  await direct.close();
}

/** A fresh server with its workspace, embedded target and a workspace key (held in memory only). */
async function setup(name: string, inspect: boolean, report: Ctx["report"], json: Ctx["json"], extraArgs: string[] = []): Promise<Ctx> {
  const server = await startServer({
    name,
    nodeArgs: [...(inspect ? [`--inspect=127.0.0.1:${INSPECT_PORT}`] : []), ...args["server-arg"], ...extraArgs],
    // The memory phase holds hundreds of sessions as one person: the per-person caps are not what it measures.
    env: { MESHIA_MAX_SESSIONS_PER_USER: String(SESSIONS + 10), MESHIA_MAX_TICKETS_PER_USER: String(SESSIONS + 10) },
  });
  const inspector = inspect ? await Inspector.connect(INSPECT_PORT).catch(() => null) : null;
  if (inspector) defer(() => inspector.close());
  const base = server.base;
  const ws = await defaultWorkspace(base);
  const { targets } = await getJson<{ targets: Target[] }>(`${base}/api/workspaces/${ws}/targets`);
  const target = targets.find((t) => t.kind === "local");
  if (!target) throw new Error("no embedded local target");
  const keyRes = await fetch(`${base}/api/workspaces/${ws}/key`, { method: "POST", headers: server.auth });
  if (!keyRes.ok) throw new Error(`key: ${keyRes.status}`);
  const pem = await keyRes.text();
  console.log(`\nserver pid ${server.pid} on ${base}${inspector ? ` (inspector on ${INSPECT_PORT})` : ""}; embedded target ${target.host}:${target.port}`);
  return { label: "embedded", server, base, ws, target, pem, inspector, report, json };
}

run(async () => {
  const report: Ctx["report"] = {};
  const json: Ctx["json"] = { bench: "terminal" };

  // Memory on a server of its own, fresh (after a flood the baseline would carry
  // freed-but-not-returned pages) and with an inspector attached for the heap figures.
  // Throughput and echo on another fresh server without one: with an inspector
  // session attached, bridged throughput measured about half.
  if (ONLY.has("memory")) {
    const ctx = await setup("terminal-memory", !args["no-inspect"], report, json);
    await memoryPhase({ ...ctx, sessions: SESSIONS, size: SIZE });
    ctx.inspector?.close();
    await ctx.server.stop();
  }
  if (ONLY.has("throughput") || ONLY.has("echo")) {
    const profDir = path.join(ROOT, ".tmp", `bench-prof-${process.pid}`);
    const ctx = await setup("terminal", false, report, json, args.profile ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : []);
    const runOn = async (label: string, target: Target) => {
      const c = { ...ctx, label, target };
      if (ONLY.has("throughput")) await throughputPhase(c);
      if (ONLY.has("echo")) await echoPhase(c);
    };
    if (TARGETS.has("openssh")) {
      const t = await openSshTarget(ctx);
      if (t) await runOn("openssh", t);
    }
    if (TARGETS.has("embedded")) await runOn("embedded", ctx.target);
    await ctx.server.stop();
    if (args.profile) printProfile(profDir);
  }
  if (ONLY.has("proxy")) {
    const r = await crossInstancePhase({ mib: SIZE_MIB, rounds: ROUNDS, samples: SAMPLES, size: SIZE });
    report.proxy = r.lines;
    json.proxy = r.json;
  }

  console.log("\nsummary (noisy machine: other engineers' servers and browsers share its 2 cores)");
  for (const [label, lines] of Object.entries(report)) {
    console.log(
      `  ${label === "memory" ? "memory (embedded target)" : label === "proxy" ? "cross-instance (two instances on Postgres, embedded target on A)" : `on the ${label === "openssh" ? "OpenSSH sshd" : "embedded"} target`}:`,
    );
    for (const line of lines) console.log(`    ${line}`);
  }
  console.log(`BENCH_JSON ${JSON.stringify(json)}`);
});
