// Per-key request limits for expensive or sensitive routes (key generation). One
// process's memory: with several app instances, each limits on its own.
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { singleton } from "@/lib/global";
import { metrics } from "@/lib/metrics";
import { ApiError } from "./errors";

export function rateLimiter(name: string, rule: { max: number; windowSeconds: number }): RateLimiterMemory {
  return singleton(`rate:${name}`, () => new RateLimiterMemory({ keyPrefix: name, points: rule.max, duration: rule.windowSeconds }));
}

/** Spends one request for `key`, or throws 429 with Retry-After. */
export async function limit(limiter: RateLimiterMemory, key: string, what: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) throw err;
    metrics().limitsHit.inc({ limit: limiter.keyPrefix });
    const retry = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
    throw new ApiError("rate_limited", `Too many ${what}; try again in ${retry} s.`, { retryAfterSeconds: retry }, { "Retry-After": String(retry) });
  }
}
