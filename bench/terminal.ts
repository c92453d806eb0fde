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
// Beside them, in the same rounds: the floor (bench/lib/relay-floor.ts), a bare
// WebSocket-to-ssh2 copy in a process of its own, the least any gateway does; and with
// --webssh2 <dir>, webssh2. What the bridge costs beyond the floor is the product's own.
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
import { defaultWorkspace, getJson, procCpuSeconds, procCpuSplit, ROOT, startServer, threadSchedMs, type BenchServer } from "./lib/server";
import { openSshTarget, type Target } from "./lib/sshd-target";
import { median, mib, ms, sleep, summary, table, verdict } from "./lib/stats";
import { BridgeShell, DirectShell, echoRoundTrips, runUntilMarker, type Shell } from "./lib/terminal-client";
import { startWebSsh2, WebSsh2Shell, type WebSsh2Server } from "./lib/webssh2";
import { RelayShell, startRelayFloor, type RelayFloor } from "./lib/relay-floor";

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
    /**
     * A folder holding webssh2 (its source and node_modules, socket.io-client included;
     * see bench/lib/webssh2.ts): measured as a third path on the OpenSSH target.
     */
    webssh2: { type: "string" },
    /**
     * The floor (bench/lib/relay-floor.ts): a bare WebSocket-to-ssh2 copy in a process
     * of its own, measured as another path in the same rounds ("off" to skip).
     */
    floor: { type: "string", default: "on" },
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

/** Waits (up to 10 s) until process `pid` uses under 2% of a CPU over 200 ms. */
async function quiet(pid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  let last = procCpuSeconds(pid);
  while (Date.now() < deadline) {
    await sleep(200);
    const now = procCpuSeconds(pid);
    if (now - last < 0.004) return;
    last = now;
  }
}

async function throughputRound(
  shell: Shell,
  file: string,
  pid: number,
): Promise<{ mibps: number; bytes: number; ms: number; serverCpu: number; serverSys: number; clientCpu: number; starved: number }> {
  const cpu0 = procCpuSplit(pid);
  const client0 = process.cpuUsage();
  const sched0 = threadSchedMs(pid);
  const r = await runUntilMarker(shell, `cat ${file}`, 600_000);
  const c = process.cpuUsage(client0);
  // Share of the round the server's main thread was runnable but had no CPU (other processes had both).
  const starved = (threadSchedMs(pid).waiting - sched0.waiting) / r.ms;
  // Work the round leaves behind counts too (the bridge's screen keeping parsed the
  // tail of a flood after it ended, which landed in the next path's round): wait
  // until the gateway is quiet, not counting the wait as time.
  await quiet(pid);
  const cpu1 = procCpuSplit(pid);
  const serverCpu = cpu1.user + cpu1.system - (cpu0.user + cpu0.system);
  return {
    mibps: r.bytes / 1024 / 1024 / (r.ms / 1000),
    bytes: r.bytes,
    ms: r.ms,
    serverCpu,
    serverSys: cpu1.system - cpu0.system,
    clientCpu: (c.user + c.system) / 1e6,
    starved,
  };
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
  /** webssh2, when --webssh2 was given (OpenSSH target only). */
  webssh2: WebSsh2Server | null;
  /** The relay floor for this target, unless --floor off. */
  relay: RelayFloor | null;
  report: Record<string, string[]>;
  json: Record<string, unknown>;
}

type Round = Awaited<ReturnType<typeof throughputRound>>;
const perMiB = (seconds: number, bytes: number) => (seconds * 1000) / (bytes / 1048576);

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
  const gateway = ctx.webssh2;
  const webssh2 = gateway ? await WebSsh2Shell.open(gateway, target, pem, SIZE) : null;
  if (webssh2) defer(() => webssh2.close());
  const relay = ctx.relay ? await RelayShell.open(ctx.relay, SIZE) : null;
  if (relay) defer(() => relay.close());
  // Whose CPU a path's "server" column counts: the gateway it goes through (direct: the Meshia server, idle).
  const pidOf = (sh: Shell) => (sh.kind === "webssh2" ? gateway!.pid : sh.kind === "relay" ? ctx.relay!.pid : server.pid);
  const shells = [direct, bridge, ...(webssh2 ? [webssh2] : []), ...(relay ? [relay] : [])].filter(
    (sh: Shell) => PATHS.has(sh.kind) || sh.kind === "webssh2" || sh.kind === "relay",
  );
  for (const sh of shells) await throughputRound(sh, warm, pidOf(sh));
  console.log(
    `\n[${ctx.label}] SSH cipher negotiated by the direct client: ${direct.negotiated} (the bridge${webssh2 ? " and webssh2 offer" : " offers"} the same list, lib/ssh/bridge.ts)`,
  );

  console.log(`\n[${ctx.label}] throughput: cat of a ${SIZE_MIB} MiB base64 file (through a ${SIZE.cols}x${SIZE.rows} pty), ${ROUNDS} rounds, alternating`);
  console.log(
    "  (server: the gateway's process (Meshia's for direct and bridge, webssh2's for webssh2), until it is quiet after the round; client: this bench process; starved: share of the round the server's main thread was runnable but waiting for a CPU)",
  );
  const none: Round = { mibps: NaN, bytes: NaN, ms: NaN, serverCpu: NaN, serverSys: NaN, clientCpu: NaN, starved: NaN };
  const kinds = shells.map((sh) => sh.kind);
  const rounds: Record<string, Round[]> = Object.fromEntries(kinds.map((k) => [k, []]));
  const ratios: number[] = [];
  const measured = profileWindow();
  for (let r = 0; r < ROUNDS; r++) {
    // Each round starts with another path, so that none always runs right after the same one.
    const order = shells.map((_, i) => shells[(i + r) % shells.length]!);
    const res: Record<string, Round> = {};
    for (const s of order) res[s.kind] = await throughputRound(s, file, pidOf(s));
    for (const k of kinds) rounds[k]!.push(res[k] ?? none);
    const rd = res.direct ?? none;
    const rb = res.bridge ?? none;
    ratios.push(rb.mibps / rd.mibps);
    const line = (x: Round) =>
      `${x.mibps.toFixed(1)} MiB/s (${mib(x.bytes, 1)} in ${ms(x.ms, 0)}, server ${perMiB(x.serverCpu, x.bytes).toFixed(1)} ms/MiB (kernel ${perMiB(x.serverSys, x.bytes).toFixed(1)}), client ${perMiB(x.clientCpu, x.bytes).toFixed(1)} ms/MiB, starved ${(x.starved * 100).toFixed(0)}%)`;
    console.log(`  round ${r + 1}: direct ${line(rd)}\n           bridge ${line(rb)}  ratio ${(rb.mibps / rd.mibps).toFixed(2)}`);
    if (res.webssh2) console.log(`           webssh2 ${line(res.webssh2)}  ratio ${(res.webssh2.mibps / rd.mibps).toFixed(2)}`);
    if (res.relay) console.log(`           floor  ${line(res.relay)}  ratio ${(res.relay.mibps / rd.mibps).toFixed(2)}`);
  }
  measured.end();
  const stat = (k: string) => {
    const rs = rounds[k] ?? [];
    return {
      mibps: median(rs.map((x) => x.mibps)),
      server: median(rs.map((x) => perMiB(x.serverCpu, x.bytes))),
      kernel: median(rs.map((x) => perMiB(x.serverSys, x.bytes))),
      client: median(rs.map((x) => perMiB(x.clientCpu, x.bytes))),
      all: rs,
    };
  };
  const sd = stat("direct");
  const sb = stat("bridge");
  const sw = webssh2 ? stat("webssh2") : null;
  const sf = relay ? stat("relay") : null;
  const ratio = median(ratios);
  const added = sb.server - sd.server;
  // The server's "added" CPU includes being the SSH client (decrypt, packet parsing,
  // window adjusts), which on the direct path is this process's work: the direct
  // client's CPU per MiB is that share (it also holds this bench's own per-chunk
  // scan for the end marker, which the other paths' clients do too).
  const sshClient = sd.client;
  const net = added - sshClient;
  const row = (name: string, x: ReturnType<typeof stat>) => [
    name,
    `${x.mibps.toFixed(1)} MiB/s`,
    `${x.server.toFixed(2)} ms/MiB`,
    `${x.kernel.toFixed(2)} ms/MiB`,
    `${x.client.toFixed(2)} ms/MiB`,
  ];
  console.log(
    table([
      ["", "throughput", "server CPU", "of it in the kernel", "client CPU"],
      row("direct ssh2", sd),
      row("bridge", sb),
      ...(sw ? [row("webssh2", sw)] : []),
      ...(sf ? [row("floor (bare relay)", sf)] : []),
    ]).replace(/^/gm, "  "),
  );
  const json = {
    sizeMiB: SIZE_MIB,
    cipher: direct.negotiated,
    direct: sd.all.map((x) => x.mibps),
    bridge: sb.all.map((x) => x.mibps),
    cpuMsPerMiB: { direct: sd.all.map((x) => perMiB(x.serverCpu, x.bytes)), bridge: sb.all.map((x) => perMiB(x.serverCpu, x.bytes)) },
    clientCpuMsPerMiB: { direct: sd.all.map((x) => perMiB(x.clientCpu, x.bytes)), bridge: sb.all.map((x) => perMiB(x.clientCpu, x.bytes)) },
    ...(sw ? { webssh2: { mibps: sw.all.map((x) => x.mibps), cpuMsPerMiB: sw.all.map((x) => perMiB(x.serverCpu, x.bytes)) } } : {}),
    ...(sf ? { floor: { mibps: sf.all.map((x) => x.mibps), cpuMsPerMiB: sf.all.map((x) => perMiB(x.serverCpu, x.bytes)) } } : {}),
  };
  if (!PATHS.has("direct") || !PATHS.has("bridge")) {
    // One path alone (for a profile): its numbers, no comparison.
    const one = PATHS.has("bridge") ? sb : sd;
    (ctx.report[ctx.label] ??= []).push(`throughput (${[...PATHS].join(",")} only): ${one.mibps.toFixed(1)} MiB/s, server CPU ${one.server.toFixed(2)} ms/MiB`);
    ctx.json[`throughput-${ctx.label}`] = json;
  } else {
    (ctx.report[ctx.label] ??= []).push(
      `throughput: direct ${sd.mibps.toFixed(1)} MiB/s, bridge ${sb.mibps.toFixed(1)} MiB/s (medians); bridge/direct ${(ratio * 100).toFixed(0)}% (median of the per-round ratios; goal >= ${TARGET_RATIO * 100}%)  ${verdict(ratio >= TARGET_RATIO)}`,
      `server CPU per MiB: direct ${sd.server.toFixed(2)} ms, bridge ${sb.server.toFixed(2)} ms; the bridge adds ${added.toFixed(2)} ms/MiB in total (goal <= ${TARGET_ADDED_CPU_MS_PER_MIB})  ${verdict(added <= TARGET_ADDED_CPU_MS_PER_MIB)}`,
      `  of which being the SSH client (the direct path's client CPU, ${sshClient.toFixed(2)} ms/MiB): the bridge net of it adds ${net.toFixed(2)} ms/MiB (goal <= ${TARGET_ADDED_CPU_MS_PER_MIB})  ${verdict(net <= TARGET_ADDED_CPU_MS_PER_MIB)}`,
    );
    ctx.json[`throughput-${ctx.label}`] = { ...json, ratios, ratio, addedCpuMsPerMiB: added, sshClientCpuMsPerMiB: sshClient, netAddedCpuMsPerMiB: net };
  }
  if (sw) {
    const wAdded = sw.server; // webssh2's process does nothing else: all of its CPU is the gateway's
    (ctx.report[ctx.label] ??= []).push(
      `webssh2 (same run, same target and cipher): ${sw.mibps.toFixed(1)} MiB/s (${((sw.mibps / sd.mibps) * 100).toFixed(0)}% of direct); its gateway's CPU ${wAdded.toFixed(2)} ms/MiB in total, ${(wAdded - sshClient).toFixed(2)} ms/MiB net of the SSH-client share (bridge: ${(sb.server - sd.server).toFixed(2)} / ${net.toFixed(2)})`,
    );
  }
  if (sf) {
    // The floor's process does nothing but the copy: all of its CPU is the least a gateway costs.
    (ctx.report[ctx.label] ??= []).push(
      `floor (a bare WebSocket-to-ssh2 copy, same run): ${sf.mibps.toFixed(1)} MiB/s (${((sf.mibps / sd.mibps) * 100).toFixed(0)}% of direct), its CPU ${sf.server.toFixed(2)} ms/MiB; the bridge: ${((sb.mibps / sf.mibps) * 100).toFixed(0)}% of the floor's throughput, ${(sb.server - sd.server - sf.server).toFixed(2)} ms/MiB of CPU beyond it`,
    );
  }
  await relay?.close();
  await webssh2?.close();
  await bridge.close();
  await direct.close();
}

async function echoPhase(ctx: Ctx): Promise<void> {
  const { base, ws, target, pem } = ctx;
  console.log(
    `\n[${ctx.label}] keystroke echo: ${SAMPLES} samples each, one char into \`cat\` on a raw tty, in blocks alternating direct/bridge${ctx.webssh2 ? "/webssh2" : ""}`,
  );
  const direct = await DirectShell.open(target, pem, SIZE);
  defer(() => direct.close());
  const bridge = await BridgeShell.open(base, ws, target.id, SIZE);
  defer(() => bridge.close());
  const webssh2 = ctx.webssh2 ? await WebSsh2Shell.open(ctx.webssh2, target, pem, SIZE) : null;
  if (webssh2) defer(() => webssh2.close());
  const relay = ctx.relay ? await RelayShell.open(ctx.relay, SIZE) : null;
  if (relay) defer(() => relay.close());
  const shells: Shell[] = [direct, bridge, ...(webssh2 ? [webssh2] : []), ...(relay ? [relay] : [])];
  const samples = new Map<Shell, number[]>(shells.map((sh) => [sh, []]));
  const blocks = 4;
  const per = Math.ceil(SAMPLES / blocks);
  // The first block of each carries the warm-up (and puts `cat` in place).
  for (let i = 0; i < blocks; i++) {
    for (const sh of shells) samples.get(sh)!.push(...(await echoRoundTrips(sh, per, i === 0 ? 20 : 0, i > 0)));
  }
  const sd = summary(samples.get(direct)!);
  const sb = summary(samples.get(bridge)!);
  const sw = webssh2 ? summary(samples.get(webssh2)!) : null;
  const sf = relay ? summary(samples.get(relay)!) : null;
  const added = sb.p99 - sd.p99;
  const row = (name: string, x: ReturnType<typeof summary>) => [name, String(x.n), ms(x.p50, 2), ms(x.p95, 2), ms(x.p99, 2), ms(x.max, 2)];
  console.log(
    table([
      ["echo round trip", "n", "p50", "p95", "p99", "max"],
      row("direct ssh2", sd),
      row("bridge (WebSocket)", sb),
      ...(sw ? [row("webssh2 (socket.io)", sw)] : []),
      ...(sf ? [row("floor (bare relay)", sf)] : []),
    ]).replace(/^/gm, "  "),
  );
  (ctx.report[ctx.label] ??= []).push(
    `echo: direct p50 ${ms(sd.p50, 2)} p99 ${ms(sd.p99, 2)}; bridge p50 ${ms(sb.p50, 2)} p99 ${ms(sb.p99, 2)}; added p99 ${ms(added, 2)} (goal <= ${TARGET_ADDED_ECHO_P99_MS} ms)  ${verdict(added <= TARGET_ADDED_ECHO_P99_MS)}`,
    ...(sw ? [`echo, webssh2: p50 ${ms(sw.p50, 2)} p99 ${ms(sw.p99, 2)}`] : []),
    ...(sf
      ? [
          `echo, floor (bare relay): p50 ${ms(sf.p50, 2)} p99 ${ms(sf.p99, 2)} (adds ${ms(sf.p99 - sd.p99, 2)} to direct's p99); the bridge's p99 beyond the floor's: ${ms(sb.p99 - sf.p99, 2)}`,
        ]
      : []),
  );
  ctx.json[`echo-${ctx.label}`] = {
    direct: sd,
    bridge: sb,
    ...(sw ? { webssh2: sw } : {}),
    ...(sf ? { floor: sf } : {}),
    addedP99: added,
    addedP50: sb.p50 - sd.p50,
  };
  await relay?.close();
  await webssh2?.close();
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
  return { label: "embedded", server, base, ws, target, pem, inspector, webssh2: null, relay: null, report, json };
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
    const runOn = async (label: string, target: Target, webssh2: WebSsh2Server | null = null) => {
      const relay = args.floor === "off" ? null : await startRelayFloor(target, ctx.pem);
      if (relay) console.log(`[${label}] floor: a bare WebSocket-to-ssh2 relay (pid ${relay.pid}) on ${relay.url}`);
      const c = { ...ctx, label, target, webssh2, relay };
      if (ONLY.has("throughput")) await throughputPhase(c);
      if (ONLY.has("echo")) await echoPhase(c);
      await relay?.stop();
    };
    if (TARGETS.has("openssh")) {
      const t = await openSshTarget(ctx);
      const webssh2 = t && args.webssh2 ? await startWebSsh2(path.resolve(args.webssh2)) : null;
      if (webssh2) console.log(`[openssh] webssh2 (pid ${webssh2.pid}) on ${webssh2.url}`);
      if (t) await runOn("openssh", t, webssh2);
      await webssh2?.stop();
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
