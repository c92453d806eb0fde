// One client address's share of the requests Next is working on. Next's pipeline
// costs milliseconds of the one main thread per request, so one address with a few
// dozen requests in flight (a script's loops, however cheap its client) makes everyone
// else's request wait behind them. Beyond `max` at once from one address, server.ts
// answers 429 with Retry-After before Next parses anything; the request the address
// already has in flight go on. The address is the one server.ts decided on
// (lib/http/client-address.ts): the socket's, or a trusted proxy's last hop, never a
// header the client wrote. Other addresses are never refused for it.
import type { ServerResponse } from "node:http";
import { metrics } from "@/lib/metrics";
import { errorBody } from "./errors";

export const INFLIGHT_LIMIT_NAME = "inflight-per-address";

export class InflightCap {
  private readonly inflight = new Map<string, number>();

  constructor(readonly max: number) {}

  /** How many requests of `address` are in flight. */
  of(address: string): number {
    return this.inflight.get(address) ?? 0;
  }

  /**
   * Admits one request of `address` and releases it when `res` closes (answered or
   * the connection gone); false, admitting nothing, when the address is at its cap.
   */
  admit(address: string, res: ServerResponse): boolean {
    const n = this.of(address);
    if (n >= this.max) return false;
    this.inflight.set(address, n + 1);
    res.once("close", () => {
      const left = this.of(address) - 1;
      if (left > 0) this.inflight.set(address, left);
      else this.inflight.delete(address);
    });
    return true;
  }
}

const BUSY_BODY = JSON.stringify(errorBody("rate_limited", "Too many requests from this address at once; try again in 1 s.", { retryAfterSeconds: 1 }));

/** The refusal of a request over its address's cap: 429 JSON, Retry-After 1, counted in meshia_limits_hit_total. */
export function refuseOverCap(res: ServerResponse): void {
  metrics().limitsHit.inc({ limit: INFLIGHT_LIMIT_NAME });
  res.writeHead(429, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(BUSY_BODY),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Retry-After": "1",
  });
  res.end(BUSY_BODY);
}
