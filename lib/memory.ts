// The server process's heap: how far V8 lets it grow past what is alive, and giving
// back what a busy spell left behind once the server is quiet again.
//
// Left to itself, V8 raises the old generation's limit after each full GC to up to
// 4× what survived it (on a machine with this much memory), and gives the pages back
// only at a later full GC, which an idle server may not run for minutes: its memory
// reducer had already run during the flood. A flood of short requests (a login storm
// on the key lookup, a keygen or bad-token flood) promotes enough short-lived objects
// to take the heap from ~150 MiB to 400–500 MiB, and there it stayed afterwards. Not a
// leak: bench:abuse --inspect forced a full GC after the flood and found less alive
// than before it.
//
// So: (1) once the event loop has been quiet for a few seconds and the heap is still
// well above what the last full GC left, one full GC gives the rest back. That GC
// pauses the event loop (~90 ms for this app's ~110 MiB live heap), which is why it
// waits for quiet, happens at most once per interval, and only when there is
// something worth giving back. (2) Optionally (MESHIA_HEAP_GROWTH, off by default), a
// fixed growth factor keeps the limit at what is alive plus a share, so a flood costs
// more full GCs instead of memory: at 30% the floods of bench:abuse grew RSS by 4-30
// MiB instead of 100-300, but every full GC marks the whole ~110 MiB live heap, and
// the more frequent ones cost the terminal bridge 2-5 ms of CPU per MiB (its
// throughput fell from ~100% to ~88% of a direct client's) and a storm of 5,000 new
// connections a second on the key lookup p99 17 -> 55 ms. Memory a flood took comes
// back either way; the cap trades speed for a lower peak, an operator's choice.
import { performance, type EventLoopUtilization } from "node:perf_hooks";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import type { Logger } from "@/lib/log";

/**
 * Caps the heap's growth past its live size after each full GC at `percent` (0 leaves
 * V8's own factor). Takes effect at once, at the next limit V8 computes.
 */
export function limitHeapGrowth(percent: number): void {
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${Math.trunc(percent)}`);
}

/**
 * V8's full GC, without starting node with --expose-gc: the flag exposes `gc` to
 * contexts made while it is set, so it is set for one new context and cleared again
 * (no other context, e.g. Next's sandboxes, gets it).
 */
function fullGc(): () => void {
  v8.setFlagsFromString("--expose-gc");
  try {
    return runInNewContext("gc") as () => void;
  } finally {
    v8.setFlagsFromString("--no-expose-gc");
  }
}

export interface IdleCollectorOptions {
  log: Logger;
  /** How often the event loop and heap are looked at. */
  checkMs?: number;
  /** Consecutive quiet checks before collecting. */
  quietChecks?: number;
  /** Event-loop utilisation (0–1) below which a check counts as quiet. */
  quietUtilization?: number;
  /** Heap (total) above what the last full GC left, worth a GC to give back. */
  slackBytes?: number;
  /** Least time between two idle collections. */
  minIntervalMs?: number;
  /** Called after each idle collection (metrics, tests). */
  onCollect?: (r: { beforeBytes: number; afterBytes: number; pauseMs: number }) => void;
}

const MiB = 1024 * 1024;

/** Starts watching for quiet after a busy spell; returns a stop function. */
export function startIdleCollector(opts: IdleCollectorOptions): () => void {
  // Eight quiet seconds: V8 shrinks the young generation (up to 32 MiB after a flood) in
  // a GC only when allocation over its last 5 s was low; at 6 s it still kept it once,
  // and it may still keep it (a bounded 32 MiB). The memory-reducing GC that would
  // shrink it too (HeapProfiler.collectGarbage through an in-process node:inspector
  // Session) never returned in a test here: the event loop stayed blocked.
  const { log, checkMs = 1000, quietChecks = 8, quietUtilization = 0.05, slackBytes = 16 * MiB, minIntervalMs = 30_000 } = opts;
  const gc = fullGc();
  const heapTotal = () => v8.getHeapStatistics().total_heap_size;
  // What a full GC leaves: unknown until the first one, so the heap as it is now.
  let floor = heapTotal();
  let quiet = 0;
  let lastAt = -Infinity;
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    quiet = busy < quietUtilization ? quiet + 1 : 0;
    const before = heapTotal();
    // V8's own full GCs may have brought it down already: follow them down.
    if (before < floor) floor = before;
    if (quiet < quietChecks || before - floor < slackBytes || performance.now() - lastAt < minIntervalMs) return;
    const t0 = performance.now();
    gc();
    const pauseMs = performance.now() - t0;
    lastAt = performance.now();
    floor = heapTotal();
    log.info(
      { heapBeforeMiB: Math.round(before / MiB), heapAfterMiB: Math.round(floor / MiB), pauseMs: Math.round(pauseMs) },
      "quiet after a busy spell: gave memory back",
    );
    opts.onCollect?.({ beforeBytes: before, afterBytes: floor, pauseMs });
  }, checkMs);
  timer.unref();
  return () => clearInterval(timer);
}
