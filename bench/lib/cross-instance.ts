// bench:terminal's cross-instance phase: two instances on one fresh Postgres
// (e2e/support/cluster.ts), the embedded target on A. The same session client
// measures, alternating, a session on A with its socket on A (direct) and a session
// on A with its socket on B (proxied: B pipes it to A). Goal: the hop costs at most
// 10% of throughput and at most +1 ms of echo p50. Skipped without DATABASE_URL.
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { clusterSkipReason, startCluster, type Cluster } from "@/e2e/support/cluster";
import { ProtocolClient } from "@/lib/terminal/testing/protocol-client";
import { defer } from "./cleanup";
import { bootstrapOwner, procCpuSeconds, ROOT } from "./server";
import { median, mib, ms, summary, table, verdict } from "./stats";
import { echoRoundTrips, runUntilMarker, type Shell, type Size } from "./terminal-client";

const TARGET_RATIO = 0.9;
const TARGET_ADDED_ECHO_MS = 1;
const PORTS = { balancer: 3341, a: 3342, b: 3343, targetPorts: "23900-23949" };

interface Api {
  workspaceId: string;
  targetId: string;
  auth: Record<string, string>;
}

/** One terminal session opened on `owner`, its socket then re-attached through `via` (the same instance for the direct path). */
class HopShell implements Shell {
  readonly kind = "bridge";
  private listener: ((chunk: Buffer) => void) | null = null;
  private client: ProtocolClient | null = null;
  /** Output offset delivered to the listener: a re-attached socket's replay is not delivered twice. */
  received = 0;

  private constructor(
    private readonly api: Api,
    private readonly owner: string,
    readonly sessionId: string,
  ) {}

  static async open(api: Api, owner: string, via: string, size: Size): Promise<HopShell> {
    const first = await ticket(api, owner, {});
    const shell = new HopShell(api, owner, first.sessionId);
    const c = await shell.attach(owner, first, null);
    c.resize(size.cols, size.rows);
    await live(c);
    if (via !== owner) {
      // Leave the session running on its owner; come back through the other instance.
      await shell.detach();
      await live(await shell.attach(via, await ticket(api, via, { sessionId: shell.sessionId }), shell.received));
    }
    return shell;
  }

  private async attach(base: string, t: { ticket: string; path: string }, resume: number | null): Promise<ProtocolClient> {
    const q = new URLSearchParams({ ticket: t.ticket, ...(resume !== null ? { resume: String(resume) } : {}) });
    const c = ProtocolClient.connect(`${base.replace(/^http/, "ws")}${t.path}?${q}`, {
      headers: this.api.auth,
      keep: "none",
      onOutput: (chunk) => {
        if (c.offset <= this.received) return;
        this.received = c.offset;
        this.listener?.(chunk);
      },
    });
    await c.opened();
    this.client = c;
    return c;
  }

  private async detach(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.close();
  }

  write(data: string | Buffer): void {
    this.client?.send({ type: "input", data: typeof data === "string" ? Buffer.from(data) : data });
  }

  onData(fn: ((chunk: Buffer) => void) | null): void {
    this.listener = fn;
  }

  async close(): Promise<void> {
    await fetch(`${this.owner}/api/workspaces/${this.api.workspaceId}/terminal/sessions/${this.sessionId}`, { method: "DELETE", headers: this.api.auth }).catch(
      () => undefined,
    );
    await this.detach().catch(() => undefined);
  }
}

/** Waits for the session's "live" status; throws on an error frame or an end. */
async function live(c: ProtocolClient, timeoutMs = 30_000): Promise<void> {
  const state = () => c.states().at(-1) ?? "connecting";
  const failed = () => c.framesOf("error").length > 0 || state() === "ended" || state() === "expired";
  await c.until(() => state() === "live" || failed(), timeoutMs).catch(() => undefined);
  if (c.framesOf("error")[0]) throw new Error(`session error:${c.framesOf("error")[0]!.message}`);
  if (state() !== "live") throw new Error(`session ${failed() ? state() : `not live in time (${state()})`}`);
}

async function ticket(api: Api, base: string, extra: { sessionId?: string }): Promise<{ ticket: string; sessionId: string; path: string }> {
  const res = await fetch(`${base}/api/workspaces/${api.workspaceId}/terminal/tickets`, {
    method: "POST",
    headers: { ...api.auth, "content-type": "application/json" },
    body: JSON.stringify({ targetId: api.targetId, ...extra }),
  });
  if (!res.ok) throw new Error(`ticket from ${base}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { ticket: string; sessionId: string; path: string };
}

/** `mebibytes` of base64 text in 76-column lines: what `cat` sends through the pty. */
function writeBase64File(file: string, mebibytes: number): void {
  const block =
    (
      randomBytes(57 * 1024)
        .toString("base64")
        .match(/.{1,76}/g) ?? []
    ).join("\n") + "\n";
  const copies = Math.ceil((mebibytes * 1048576) / block.length);
  writeFileSync(file, block.repeat(copies).slice(0, mebibytes * 1048576));
}

export interface CrossInstanceOptions {
  mib: number;
  rounds: number;
  samples: number;
  size: Size;
}

export interface CrossInstanceResult {
  lines: string[];
  json: Record<string, unknown>;
}

export async function crossInstancePhase(opts: CrossInstanceOptions): Promise<CrossInstanceResult> {
  const skip = clusterSkipReason();
  if (skip) {
    console.log(`\ncross-instance: SKIPPED (${skip})`);
    return { lines: [`cross-instance: skipped (${skip})`], json: { skipped: skip } };
  }
  const cluster: Cluster = await startCluster({ tag: "bench", ports: PORTS, embeddedOn: "a", env: { LOG_LEVEL: "warn" } });
  defer(() => cluster.stop());
  const a = cluster.a.base;
  const b = cluster.b.base;
  const auth = await bootstrapOwner(a, cluster.setupToken);
  const wsRes = await fetch(`${a}/api/workspaces`, { headers: auth });
  const workspaceId = ((await wsRes.json()) as { workspaces: { id: string }[] }).workspaces[0]!.id;
  const tRes = await fetch(`${a}/api/workspaces/${workspaceId}/targets`, { headers: auth });
  const target = ((await tRes.json()) as { targets: { id: string; kind: string }[] }).targets.find((t) => t.kind === "local");
  if (!target) throw new Error("no embedded target on A");
  const api: Api = { workspaceId, targetId: target.id, auth };
  console.log(`\ncross-instance: A pid ${cluster.a.pid} on ${a} (session and embedded target), B pid ${cluster.b.pid} on ${b} (the hop)`);

  const warm = path.join(ROOT, ".tmp", `bench-hop-warm-${process.pid}.b64`);
  const dataFile = path.join(ROOT, ".tmp", `bench-hop-data-${process.pid}.b64`);
  defer(() => rmSync(warm, { force: true }));
  defer(() => rmSync(dataFile, { force: true }));
  writeBase64File(warm, 16);
  writeBase64File(dataFile, opts.mib);

  const direct = await HopShell.open(api, a, a, opts.size);
  defer(() => direct.close());
  const hop = await HopShell.open(api, a, b, opts.size);
  defer(() => hop.close());
  await runUntilMarker(direct, `cat ${warm}`, 120_000);
  await runUntilMarker(hop, `cat ${warm}`, 120_000);

  console.log(`  throughput: cat of a ${opts.mib} MiB file, ${opts.rounds} rounds, alternating; session on A, socket on A (direct) or on B (proxied)`);
  const d: number[] = [];
  const h: number[] = [];
  const ratios: number[] = [];
  const hopCpuPerMiB: number[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    const res: Record<string, { mibps: number; bytes: number; ms: number; bCpu: number }> = {};
    for (const [name, shell] of r % 2
      ? ([
          ["hop", hop],
          ["direct", direct],
        ] as const)
      : ([
          ["direct", direct],
          ["hop", hop],
        ] as const)) {
      const cpu0 = procCpuSeconds(cluster.b.pid);
      const x = await runUntilMarker(shell, `cat ${dataFile}`, 600_000);
      res[name] = { mibps: x.bytes / 1048576 / (x.ms / 1000), bytes: x.bytes, ms: x.ms, bCpu: procCpuSeconds(cluster.b.pid) - cpu0 };
    }
    const rd = res.direct!;
    const rh = res.hop!;
    d.push(rd.mibps);
    h.push(rh.mibps);
    ratios.push(rh.mibps / rd.mibps);
    hopCpuPerMiB.push((rh.bCpu * 1000) / (rh.bytes / 1048576));
    console.log(
      `  round ${r + 1}: direct ${rd.mibps.toFixed(1)} MiB/s (${mib(rd.bytes, 1)} in ${ms(rd.ms, 0)})  proxied ${rh.mibps.toFixed(1)} MiB/s (${mib(rh.bytes, 1)} in ${ms(rh.ms, 0)}, B cpu ${rh.bCpu.toFixed(2)} s)  ratio ${(rh.mibps / rd.mibps).toFixed(2)}`,
    );
  }
  const ratio = median(ratios);

  console.log(`  echo: ${opts.samples} samples each, one char into \`cat\` on a raw tty, in blocks alternating direct/proxied`);
  const ed: number[] = [];
  const eh: number[] = [];
  const blocks = 4;
  const per = Math.ceil(opts.samples / blocks);
  ed.push(...(await echoRoundTrips(direct, per)));
  eh.push(...(await echoRoundTrips(hop, per)));
  for (let i = 1; i < blocks; i++) {
    ed.push(...(await echoRoundTrips(direct, per, 0, true)));
    eh.push(...(await echoRoundTrips(hop, per, 0, true)));
  }
  const sd = summary(ed);
  const sh = summary(eh);
  const added = sh.p50 - sd.p50;
  console.log(
    table([
      ["echo round trip", "n", "p50", "p95", "p99", "max"],
      ["direct (socket on A)", String(sd.n), ms(sd.p50, 2), ms(sd.p95, 2), ms(sd.p99, 2), ms(sd.max, 2)],
      ["proxied (socket on B)", String(sh.n), ms(sh.p50, 2), ms(sh.p95, 2), ms(sh.p99, 2), ms(sh.max, 2)],
    ]).replace(/^/gm, "  "),
  );
  await hop.close();
  await direct.close();
  return {
    lines: [
      `cross-instance throughput: direct ${median(d).toFixed(1)} MiB/s, proxied ${median(h).toFixed(1)} MiB/s (medians); proxied/direct ${(ratio * 100).toFixed(0)}% (target >= ${TARGET_RATIO * 100}%)  ${verdict(ratio >= TARGET_RATIO)}`,
      `  the hop's CPU (instance B) per MiB: ${median(hopCpuPerMiB).toFixed(1)} ms`,
      `cross-instance echo: direct p50 ${ms(sd.p50, 2)} p99 ${ms(sd.p99, 2)}; proxied p50 ${ms(sh.p50, 2)} p99 ${ms(sh.p99, 2)}; added p50 ${ms(added, 2)} (target <= ${TARGET_ADDED_ECHO_MS} ms)  ${verdict(added <= TARGET_ADDED_ECHO_MS)}`,
    ],
    json: { sizeMiB: opts.mib, direct: d, proxied: h, ratios, ratio, hopCpuMsPerMiB: hopCpuPerMiB, echo: { direct: sd, proxied: sh, addedP50: added } },
  };
}
