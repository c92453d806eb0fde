import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ApiError } from "@/lib/http/errors";
import { KeyPersonBusyError, KeyPool, KeyPoolBusyError } from "./key-pool";
import { PKCS1_BEGIN, type UnnamedKey } from "./workspace-key";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A stand-in generator: distinct keys, a chosen delay, and a count of what it made. */
function fakeGenerator(delayMs: number) {
  const made: UnnamedKey[] = [];
  let running = 0;
  let maxRunning = 0;
  return {
    made,
    get maxRunning() {
      return maxRunning;
    },
    generate: async (): Promise<UnnamedKey> => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(delayMs);
      running--;
      const id = randomUUID();
      const key = { pem: `pem-${id}`, publicKeyBase: `ssh-rsa ${id}`, fingerprint: `SHA256:${id}` };
      made.push(key);
      return key;
    },
  };
}

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await sleep(5);
  }
}

describe("workspace key pool", () => {
  it("fills itself in the background, one generation at a time", async () => {
    const gen = fakeGenerator(20);
    const pool = new KeyPool({ size: 3, maxConcurrent: 2, generate: gen.generate });
    await until(() => pool.ready === 3);
    expect(gen.maxRunning).toBe(1);
    await sleep(60);
    expect(gen.made).toHaveLength(3); // stops at its size
    pool.close();
  });

  it("never hands out a pooled key twice, under concurrent takes", async () => {
    const gen = fakeGenerator(5);
    const pool = new KeyPool({ size: 4, maxConcurrent: 8, generate: gen.generate });
    await until(() => pool.ready === 4);
    const got = await Promise.all(Array.from({ length: 40 }, (_, i) => pool.take(`c${i}`).catch(() => null)));
    const keys = got.filter((k) => k !== null);
    expect(keys.length).toBeGreaterThanOrEqual(8);
    const pems = keys.map((k) => k.pem);
    expect(new Set(pems).size).toBe(pems.length);
    // Each handed-out key was made once and is given its caller's comment.
    expect(keys[0]!.publicKey.endsWith(" c0")).toBe(true);
    // Nothing handed out is still in the pool.
    await until(() => pool.ready === 4);
    const next = await Promise.all([1, 2, 3, 4].map(() => pool.take("x")));
    for (const k of next) expect(pems).not.toContain(k.pem);
    pool.close();
  });

  it("answers 503 with Retry-After past the global cap on generations in flight", async () => {
    const gen = fakeGenerator(300);
    const pool = new KeyPool({ size: 0, maxConcurrent: 2, generate: gen.generate });
    const first = [pool.take("a"), pool.take("b")];
    const busy = await pool.take("c").catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(KeyPoolBusyError);
    const err = busy;
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(503);
    expect((err as ApiError).code).toBe("unavailable");
    expect(Number((err as ApiError).headers?.["Retry-After"])).toBeGreaterThanOrEqual(1);
    await Promise.all(first);
    expect(gen.maxRunning).toBe(2);
    await expect(pool.take("d")).resolves.toBeTruthy(); // room again
    pool.close();
  });

  it("holds one person to one generation at a time (429), so a burst leaves the global cap's other slots to other people", async () => {
    const gen = fakeGenerator(300);
    const pool = new KeyPool({ size: 0, maxConcurrent: 2, generate: gen.generate });
    const first = pool.take("a1", "flooder");
    // The same person again, while theirs runs: refused with their own 429, not a slot taken.
    const again = await pool.take("a2", "flooder").catch((e: unknown) => e);
    expect(again).toBeInstanceOf(KeyPersonBusyError);
    expect((again as ApiError).status).toBe(429);
    expect((again as ApiError).code).toBe("rate_limited");
    expect(Number((again as ApiError).headers?.["Retry-After"])).toBeGreaterThanOrEqual(1);
    expect(pool.inFlight).toBe(1);
    // Someone else presses Generate meanwhile: the other slot is theirs.
    const other = await pool.take("b", "someone-else");
    expect(other.pem).toMatch(/^pem-/);
    await first;
    // Once theirs is done, the person may ask again.
    await expect(pool.take("a3", "flooder")).resolves.toBeTruthy();
    // A pooled key is no generation: nobody is refused for one.
    const pooled = new KeyPool({ size: 2, maxConcurrent: 2, generate: fakeGenerator(5).generate });
    await until(() => pooled.ready === 2);
    await expect(Promise.all([pooled.take("p1", "flooder"), pooled.take("p2", "flooder")])).resolves.toHaveLength(2);
    pooled.close();
    pool.close();
  });

  it("gives a real RSA-3072 key at once when one is ready (p50 well under 50 ms)", async () => {
    const pool = new KeyPool({ size: 2, maxConcurrent: 2 });
    await until(() => pool.ready === 2, 30_000);
    const t0 = performance.now();
    const key = await pool.take("meshia-test");
    expect(performance.now() - t0).toBeLessThan(50);
    expect(key.pem.startsWith(PKCS1_BEGIN)).toBe(true);
    expect(key.publicKey).toMatch(/^ssh-rsa \S+ meshia-test$/);
    expect(key.algorithm).toBe("RSA-3072");
    pool.close();
  });

  it("forgets everything on close (nothing outlives the process's memory)", async () => {
    const gen = fakeGenerator(1);
    const pool = new KeyPool({ size: 2, maxConcurrent: 1, generate: gen.generate });
    await until(() => pool.ready === 2);
    pool.close();
    expect(pool.ready).toBe(0);
  });
});
