// Workspace key generation that feels instant and cannot starve the server: a small
// in-memory pool of pre-generated pairs, refilled in the background one at a time
// and only while nobody is waiting for a key, a global cap on generations in flight
// (beyond it: 503 with Retry-After), and one on-demand generation per person at a
// time (a second while the first runs: 429), so that one person's burst cannot hold
// every slot of the global cap while someone else presses Generate.
//
// The pool holds private keys, so: it lives in this process's memory only (never a
// file, the database, a log or a cache), a pair is handed out once (taken out of the
// array, no other reference kept), and a restart simply loses it.
import { config } from "@/lib/config";
import { processGlobal } from "@/lib/global";
import { logger } from "@/lib/log";
import { ApiError } from "@/lib/http/errors";
import { metrics } from "@/lib/metrics";
import { generateUnnamedKey, named, type GeneratedKey, type UnnamedKey } from "./workspace-key";

export interface KeyPoolOptions {
  /** Pairs kept ready (0: no pool, every request generates). */
  size: number;
  /** Generations in flight at once, on-demand and refills together (>= 1). */
  maxConcurrent: number;
  /** Seconds a refused caller is told to wait. */
  retryAfterSeconds?: number;
  generate?: () => Promise<UnnamedKey>;
  onError?: (err: unknown) => void;
}

/** At the cap on generations in flight: a 503 with Retry-After. */
export class KeyPoolBusyError extends ApiError {
  static override readonly brand: string = "KeyPoolBusyError";
  constructor(readonly retryAfterSeconds: number) {
    super(
      "unavailable",
      `The server is generating as many keys as it can; try again in ${retryAfterSeconds} s.`,
      { retryAfterSeconds },
      { "Retry-After": String(retryAfterSeconds) },
    );
  }
}

/** A person whose previous on-demand generation is still running: a 429 with Retry-After. */
export class KeyPersonBusyError extends ApiError {
  static override readonly brand: string = "KeyPersonBusyError";
  constructor(readonly retryAfterSeconds: number) {
    super(
      "rate_limited",
      `A key you asked for is still being generated; try again in ${retryAfterSeconds} s.`,
      { retryAfterSeconds },
      { "Retry-After": String(retryAfterSeconds) },
    );
  }
}

export class KeyPool {
  #ready: UnnamedKey[] = [];
  /** People with an on-demand generation running now. */
  readonly #generatingFor = new Set<string>();
  #refilling = 0;
  #onDemand = 0;
  #closed = false;
  readonly #opts: Required<Omit<KeyPoolOptions, "onError">> & Pick<KeyPoolOptions, "onError">;

  constructor(opts: KeyPoolOptions) {
    this.#opts = { retryAfterSeconds: 2, generate: generateUnnamedKey, ...opts, maxConcurrent: Math.max(1, opts.maxConcurrent), size: Math.max(0, opts.size) };
    this.#refill();
  }

  /** Pairs ready now. */
  get ready(): number {
    return this.#ready.length;
  }

  /** Generations running now (on-demand and refills). */
  get inFlight(): number {
    return this.#onDemand + this.#refilling;
  }

  /**
   * A key for `comment`: from the pool when one is ready (and then gone from it),
   * generated now otherwise; KeyPoolBusyError (a 503) when the global cap on
   * generations in flight is reached, KeyPersonBusyError (a 429) when `person` (who
   * asks: a user id) already waits for a generation of their own.
   */
  async take(comment: string, person?: string): Promise<GeneratedKey> {
    const pooled = this.#ready.shift();
    if (pooled) {
      metrics().keyPool.inc({ outcome: "pooled" });
      this.#refill();
      return named(pooled, comment);
    }
    // A refill in flight does not count here: it finishes soon and starts no other
    // while callers wait, so it can only hold one generation over the cap.
    if (person !== undefined && this.#generatingFor.has(person)) {
      metrics().keyPool.inc({ outcome: "person_busy" });
      throw new KeyPersonBusyError(this.#opts.retryAfterSeconds);
    }
    if (this.#onDemand >= this.#opts.maxConcurrent) {
      metrics().keyPool.inc({ outcome: "busy" });
      throw new KeyPoolBusyError(this.#opts.retryAfterSeconds);
    }
    metrics().keyPool.inc({ outcome: "generated" });
    this.#onDemand++;
    if (person !== undefined) this.#generatingFor.add(person);
    try {
      return named(await this.#opts.generate(), comment);
    } finally {
      this.#onDemand--;
      if (person !== undefined) this.#generatingFor.delete(person);
      this.#refill();
    }
  }

  /** Stops refilling and drops every ready pair. */
  close(): void {
    this.#closed = true;
    this.#ready.length = 0;
  }

  // Low priority: one refill at a time, none while a caller waits for a key, and
  // never past the global cap.
  #refill(): void {
    if (this.#closed || this.#onDemand > 0 || this.#refilling > 0) return;
    if (this.#ready.length >= this.#opts.size || this.inFlight >= this.#opts.maxConcurrent) return;
    this.#refilling++;
    let failed = false;
    setImmediate(() => {
      this.#opts
        .generate()
        .then(
          (key) => {
            if (!this.#closed && this.#ready.length < this.#opts.size) this.#ready.push(key);
          },
          (err: unknown) => {
            failed = true;
            this.#opts.onError?.(err);
          },
        )
        .finally(() => {
          this.#refilling--;
          // After a failure, wait before trying again rather than spin.
          setTimeout(() => this.#refill(), failed ? 5000 : 0).unref();
        });
    });
  }
}

/** The process's pool, made on first use from the configuration. */
export const keyPoolGlobal = processGlobal("key-pool", () => {
  const { keys } = config();
  return new KeyPool({
    size: keys.poolSize,
    maxConcurrent: keys.maxConcurrent,
    onError: (err) => logger().error({ err }, "could not pre-generate a workspace key"),
  });
});

export function workspaceKeyPool(): KeyPool {
  return keyPoolGlobal.get();
}
