// Reads a V8 .cpuprofile (node --cpu-prof) and tells where the time went: self time
// per function and per module (package or file), top entries first.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { ms, table } from "./stats";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  functions: { name: string; where: string; ms: number; share: number }[];
  modules: { module: string; ms: number; share: number }[];
}

/** "ssh2", "ws", "@xterm/headless", "lib/terminal/server/session.ts", "(native)"... */
function moduleOf(url: string): string {
  if (!url) return "(native/V8)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith("node:")) return url;
  const m = /\/(lib|server\.ts|app|db)(\/.*)?$/.exec(url);
  return m ? m[0].slice(1) : url;
}

/**
 * `focus`: only part of the profile, so that start-up (module loading, the database's
 * first open) does not drown the path being measured. Either a time window on the
 * monotonic clock, in microseconds (`process.hrtime.bigint() / 1000n` in any process
 * of this machine: V8 stamps samples with the same clock), as the bench marks around
 * its measured rounds; or the samples between the first and the last one whose stack
 * holds a frame from a file whose URL contains a string. Everything in that window
 * counts, GC and background work included.
 */
export function summarizeProfile(file: string, top = 20, focus?: string | { fromUs: number; toUs: number }): ProfileSummary & { windowMs: number } {
  const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inFocus = new Map<number, boolean>();
  const focused = (id: number): boolean => {
    const known = inFocus.get(id);
    if (known !== undefined) return known;
    const n = byId.get(id);
    const up = parent.get(id);
    const v = !!n && (n.callFrame.url.includes(focus as string) || (up !== undefined && focused(up)));
    inFocus.set(id, v);
    return v;
  };
  const times: number[] = [];
  let t = p.startTime;
  for (const d of p.timeDeltas) times.push((t += d));
  let from = 0;
  let to = p.samples.length - 1;
  if (typeof focus === "string") {
    from = p.samples.findIndex((id) => focused(id));
    for (to = p.samples.length - 1; to > from && !focused(p.samples[to]!); to--);
    if (from < 0) throw new Error(`no sample in ${focus}`);
  } else if (focus) {
    from = times.findIndex((x) => x >= focus.fromUs);
    for (to = times.length - 1; to > from && times[to]! > focus.toUs; to--);
    if (from < 0 || to <= from) throw new Error("no sample in the window");
  }
  // Self time per node from the sample timeline (more exact than hitCount × interval).
  const self = new Map<number, number>();
  for (let i = from; i <= to; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  const fn = new Map<string, { name: string; where: string; ms: number }>();
  const mod = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const name = n.callFrame.functionName || "(anonymous)";
    if (name === "(idle)" || name === "(program)") continue; // waiting, not work
    total += ms;
    const where = n.callFrame.url ? `${moduleOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}` : "";
    const key = `${name}@${where}`;
    const e = fn.get(key) ?? { name, where, ms: 0 };
    e.ms += ms;
    fn.set(key, e);
    const m = name === "(garbage collector)" ? "(garbage collector)" : moduleOf(n.callFrame.url);
    mod.set(m, (mod.get(m) ?? 0) + ms);
  }
  return {
    windowMs: ((times[to] ?? 0) - (times[from] ?? 0)) / 1000,
    totalMs: total,
    functions: [...fn.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map((f) => ({ ...f, share: f.ms / total })),
    modules: [...mod.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([module, ms]) => ({ module, ms, share: ms / total })),
  };
}

/** When the measured rounds ran (monotonic µs): the server's profile is read for these only. */
const windows: { fromUs: number; toUs: number }[] = [];
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** Marks the start of a measured stretch; `end()` marks its end. */
export function profileWindow(): { end: () => void } {
  const fromUs = nowUs();
  return { end: () => void windows.push({ fromUs, toUs: nowUs() }) };
}

/**
 * Prints the profile in `dir` (node --cpu-prof writes one file per thread, workers
 * too): top modules and functions by self time. With `focus`, from the first to the
 * last sample in a file whose URL contains it (code server.ts loads itself); without,
 * from the first to the last stretch marked by `profileWindow()` (the terminal's
 * session code runs from Next's bundle, whose chunk names change with every build).
 * Returns the summary, or null when no file has samples there.
 */
export function printProfile(dir: string, focus?: string, top = 25): (ProfileSummary & { windowMs: number; file: string }) | null {
  const window = windows.length ? { fromUs: Math.min(...windows.map((w) => w.fromUs)), toUs: Math.max(...windows.map((w) => w.toUs)) } : null;
  if (!focus && !window) {
    console.log("\nnothing was measured: no profile window");
    return null;
  }
  // The main thread's file, which ran the measured code, is the biggest.
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => path.join(dir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size);
  const what = focus ? `from the first to the last sample in ${focus}` : "the measured rounds only";
  for (const file of files) {
    let p: ProfileSummary & { windowMs: number };
    try {
      p = summarizeProfile(file, top, focus ?? window!);
    } catch {
      continue; // not this thread
    }
    console.log(`\nserver CPU profile (${file}), ${what} (${ms(p.windowMs, 0)}): ${ms(p.totalMs, 0)} of work (idle excluded)`);
    console.log(table([["module", "self", "share"], ...p.modules.map((m) => [m.module, ms(m.ms, 0), `${(m.share * 100).toFixed(1)}%`])]).replace(/^/gm, "  "));
    console.log(
      table([["function", "where", "self", "share"], ...p.functions.map((f) => [f.name, f.where, ms(f.ms, 0), `${(f.share * 100).toFixed(1)}%`])]).replace(
        /^/gm,
        "  ",
      ),
    );
    return { ...p, file };
  }
  console.log(`\nno .cpuprofile in ${dir} has samples ${what}`);
  return null;
}
