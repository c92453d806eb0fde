// bench:terminal's memory phase: server memory per idle terminal session, read
// settled at several session counts.
import { defer } from "./cleanup";
import type { Inspector } from "./inspector";
import { procStatusBytes, type BenchServer } from "./server";
import { median, mib, ms, sleep, verdict } from "./stats";
import { BridgeShell, runUntilMarker, type Size } from "./terminal-client";

const TARGET_PER_SESSION = 1024 * 1024;

export interface MemoryCtx {
  server: BenchServer;
  base: string;
  ws: string;
  target: { id: string };
  inspector: Inspector | null;
  /** Sessions to open in all. */
  sessions: number;
  size: Size;
  report: Record<string, string[]>;
  json: Record<string, unknown>;
}

/**
 * Brings the server to a quiet state and waits until its anonymous RSS stops moving
 * (< 1 MiB over 5 s, at most 60 s); true if it settled. Measured here: V8 gives pages
 * back several seconds after a full GC, swinging RSS by tens of MiB, more than the
 * sessions being measured, so a baseline taken right after a GC means nothing.
 */
async function settle(pid: number, inspector: Inspector | null): Promise<boolean> {
  await inspector?.memory();
  await sleep(8000);
  await inspector?.memory();
  const samples: number[] = [];
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    samples.push(procStatusBytes(pid, "RssAnon"));
    const last = samples.slice(-6);
    if (last.length === 6 && Math.max(...last) - Math.min(...last) < 1024 * 1024) return true;
    await sleep(1000);
  }
  return false;
}

interface MemPoint {
  sessions: number;
  rss: number;
  anon: number;
  heap?: NodeJS.MemoryUsage;
  settled: boolean;
}

/**
 * Server memory per idle session. Anonymous RSS is read settled (after a forced GC)
 * at 0, N/4, N/2, 3N/4 and N sessions; the figure is the median of the four
 * increments. A single 0 -> N delta moves by tens of MiB for reasons unrelated to
 * sessions (glibc trimming its heap on some later free, PGlite's start-up peak
 * draining), so it can even come out negative; one such jump spoils only one
 * increment, and the median ignores it.
 */
export async function memoryPhase(ctx: MemoryCtx): Promise<void> {
  const { server, base, ws, target, inspector, sessions: SESSIONS, size: SIZE } = ctx;
  console.log(`\nmemory: ${SESSIONS} idle terminal sessions on a fresh server (bridge and embedded target share its process)`);
  // Warm the path once so that module loading and first-use caches are not counted per session.
  const warm = await BridgeShell.open(base, ws, target.id, SIZE);
  await runUntilMarker(warm, "true", 10_000);
  await warm.close();
  const shells: BridgeShell[] = [];
  defer(async () => {
    for (const s of shells.splice(0)) await s.close();
  });
  const point = async (): Promise<MemPoint> => {
    const settled = await settle(server.pid, inspector);
    const heap = await inspector?.memory();
    return { sessions: shells.length, rss: procStatusBytes(server.pid), anon: procStatusBytes(server.pid, "RssAnon"), ...(heap ? { heap } : {}), settled };
  };
  const openUpTo = async (n: number) => {
    while (shells.length < n) {
      const k = Math.min(10, n - shells.length);
      shells.push(...(await Promise.all(Array.from({ length: k }, () => BridgeShell.open(base, ws, target.id, SIZE, 120_000)))));
    }
  };
  const t0 = performance.now();
  const points = [await point()];
  let openMs = 0;
  for (let q = 1; q <= 4; q++) {
    const t = performance.now();
    await openUpTo(Math.round((SESSIONS * q) / 4));
    openMs += performance.now() - t;
    points.push(await point());
  }
  const show = (p: MemPoint) =>
    `${String(p.sessions).padStart(4)} sessions: anonymous RSS ${mib(p.anon, 1)} (VmRSS ${mib(p.rss, 1)})` +
    (p.heap ? `, heapUsed ${mib(p.heap.heapUsed, 1)}, external+arrayBuffers ${mib(p.heap.external + p.heap.arrayBuffers, 1)}` : "") +
    (p.settled ? "" : " (not settled)");
  console.log(`  opened ${SESSIONS} sessions in ${ms(openMs, 0)} (${ms(performance.now() - t0, 0)} with settling); each point settled, after a forced GC:`);
  for (const p of points) console.log(`  ${show(p)}`);
  const per = (f: (p: MemPoint) => number) => median(points.slice(1).map((p, i) => (f(p) - f(points[i]!)) / (p.sessions - points[i]!.sessions)));
  const anonPer = per((p) => p.anon);
  const rssPer = per((p) => p.rss);
  const withHeap = points.every((p) => p.heap);
  const heapPer = withHeap ? per((p) => p.heap!.heapUsed) : NaN;
  const extPer = withHeap ? per((p) => p.heap!.external + p.heap!.arrayBuffers) : NaN;
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const anonPerFromZero = (last.anon - first.anon) / last.sessions;
  for (const s of shells.splice(0)) await s.close();
  await sleep(3000);
  console.log(`  after closing them all: RSS ${mib(procStatusBytes(server.pid), 1)}, anonymous ${mib(procStatusBytes(server.pid, "RssAnon"), 1)}`);
  (ctx.report.memory ??= []).push(
    `memory: ${(anonPer / 1024).toFixed(0)} KiB per idle session (anonymous RSS, median increment up to ${last.sessions} sessions; VmRSS ${(rssPer / 1024).toFixed(0)} KiB` +
      `${withHeap ? `; of it JS heap ${(heapPer / 1024).toFixed(0)} KiB + external ${(extPer / 1024).toFixed(0)} KiB` : ""}; plain 0 → ${last.sessions} delta ${(anonPerFromZero / 1024).toFixed(0)} KiB) (target <= 1024 KiB)  ${verdict(anonPer <= TARGET_PER_SESSION)}`,
  );
  ctx.json.memory = {
    points: points.map(({ heap, ...p }) => ({ ...p, heapUsed: heap?.heapUsed, external: heap ? heap.external + heap.arrayBuffers : undefined })),
    anonPerSession: anonPer,
    rssPerSession: rssPer,
    heapPerSession: heapPer,
    externalPerSession: extPer,
    anonPerSessionFromZero: anonPerFromZero,
  };
}
