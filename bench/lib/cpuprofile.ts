// Reads a V8 .cpuprofile (node --cpu-prof) and tells where the time went: self time
// per function and per module (package or file), top entries first.
import { readdirSync, readFileSync } from "node:fs";
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

/** "ssh2", "ws", "@xterm/headless", "lib/terminal/session.ts", "(native)"... */
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
 * `focus`: only the samples between the first and the last one whose stack holds a
 * frame from a file whose URL contains it (e.g. "lib/terminal/session.ts": the time
 * the bridge was busy), so that start-up (module loading, the database's first open)
 * does not drown the path being measured. Everything in that window counts, GC and
 * background work included.
 */
export function summarizeProfile(file: string, top = 20, focus?: string): ProfileSummary & { windowMs: number } {
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
    const v = !!n && (n.callFrame.url.includes(focus!) || (up !== undefined && focused(up)));
    inFocus.set(id, v);
    return v;
  };
  const times: number[] = [];
  let t = p.startTime;
  for (const d of p.timeDeltas) times.push((t += d));
  let from = 0;
  let to = p.samples.length - 1;
  if (focus) {
    from = p.samples.findIndex((id) => focused(id));
    for (to = p.samples.length - 1; to > from && !focused(p.samples[to]!); to--);
    if (from < 0) throw new Error(`no sample in ${focus}`);
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

/**
 * Prints the profile in `dir` (node --cpu-prof writes one file per thread, workers
 * too) whose samples include `focus`: top modules and functions by self time, from
 * the first to the last sample in `focus`. Returns the summary, or null when no file has it.
 */
export function printProfile(dir: string, focus: string, top = 25): (ProfileSummary & { windowMs: number; file: string }) | null {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => path.join(dir, f));
  for (const file of files) {
    let p: ProfileSummary & { windowMs: number };
    try {
      p = summarizeProfile(file, top, focus);
    } catch {
      continue; // not this thread
    }
    console.log(
      `\nserver CPU profile (${file}), from the first to the last sample in ${focus} (${ms(p.windowMs, 0)}): ${ms(p.totalMs, 0)} of work (idle excluded)`,
    );
    console.log(table([["module", "self", "share"], ...p.modules.map((m) => [m.module, ms(m.ms, 0), `${(m.share * 100).toFixed(1)}%`])]).replace(/^/gm, "  "));
    console.log(
      table([["function", "where", "self", "share"], ...p.functions.map((f) => [f.name, f.where, ms(f.ms, 0), `${(f.share * 100).toFixed(1)}%`])]).replace(
        /^/gm,
        "  ",
      ),
    );
    return { ...p, file };
  }
  console.log(`\nno .cpuprofile in ${dir} has samples in ${focus}`);
  return null;
}
