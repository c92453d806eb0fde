// Open-loop load: requests are sent on a schedule (a fixed arrival rate), not when
// the previous answer came back. Logins arrive at a rate whatever the server does,
// so this is the latency an sshd sees during a login storm of that rate. Latency is
// measured from each request's scheduled time, so a client or server that falls
// behind is charged for it (no coordinated omission).
import { performance } from "node:perf_hooks";
import type { Answer } from "./http-load";

export interface OpenLoopResult {
  rate: number;
  sent: number;
  /** Latency from the scheduled send time to the whole answer, ms. */
  lat: number[];
  failed: number;
  /** How far behind schedule the client was at its worst, ms: if large, the client (not the server) limited the rate. */
  maxLagMs: number;
}

/**
 * `rate` requests per second for `seconds`, at most `inFlight` outstanding (a login
 * storm from that many sshds); `check` says whether an answer is right.
 */
export async function openLoop(
  request: () => Promise<Answer>,
  check: (a: Answer) => boolean,
  opts: { rate: number; seconds: number; inFlight: number },
): Promise<OpenLoopResult> {
  const total = Math.round(opts.rate * opts.seconds);
  const interval = 1000 / opts.rate;
  const lat: number[] = [];
  let failed = 0;
  let outstanding = 0;
  let maxLagMs = 0;
  const waiting: number[] = []; // scheduled times of requests waiting for an in-flight slot
  const pending = new Set<Promise<void>>();
  const fire = (scheduled: number) => {
    outstanding++;
    const p = request().then(
      (a) => {
        if (!check(a)) failed++;
      },
      () => {
        failed++;
      },
    );
    const tracked = p.then(() => {
      lat.push(performance.now() - scheduled);
      outstanding--;
      pending.delete(tracked);
      const next = waiting.shift();
      if (next !== undefined) fire(next);
    });
    pending.add(tracked);
  };
  const t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    const now = performance.now();
    while (sent < total && t0 + sent * interval <= now) {
      const scheduled = t0 + sent * interval;
      maxLagMs = Math.max(maxLagMs, now - scheduled);
      sent++;
      if (outstanding < opts.inFlight) fire(scheduled);
      else waiting.push(scheduled);
    }
    // Timers fire at ~1 ms granularity: each turn sends what has come due.
    await new Promise<void>((r) => setTimeout(r, Math.max(0, Math.min(1, t0 + sent * interval - performance.now()))));
  }
  while (pending.size || waiting.length) await Promise.race(pending);
  return { rate: opts.rate, sent, lat, failed, maxLagMs };
}
