// Rate limits on real databases: in memory on PGlite, in the rate_limits table on
// Postgres, where two instances (two pools, two Limiter objects, as two processes
// would have) share one budget. A store that cannot be reached fails closed (503),
// or, for an insured limiter, falls back to this process's memory.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimiterMemory, RateLimiterPostgres } from "rate-limiter-flexible";
import { openDatabase, type Database } from "@/db/client";
import { rateLimits } from "@/db/schema";
import { testDatabases } from "@/db/testing";
import { ApiError } from "./errors";
import { limit, Limiter, rateLimiter } from "./rate-limit";

describe.each(testDatabases())("rate limits on $name", (tdb) => {
  let handle: Awaited<ReturnType<typeof tdb.open>>;
  let other: Database;
  beforeAll(async () => {
    handle = await tdb.open();
    other = handle.url ? await openDatabase({ url: handle.url }) : handle;
  });
  afterAll(async () => {
    if (other && other !== handle) await other.close();
    await handle?.dispose();
  });

  it("allow MAX requests per window for a key, then answer 429 with Retry-After", async () => {
    const limiter = rateLimiter(`test-${Math.random()}`, { max: 2, windowSeconds: 30 });
    await limit(limiter, "ws:alice", "key generations", handle.db);
    await limit(limiter, "ws:alice", "key generations", handle.db);
    const err = await limit(limiter, "ws:alice", "key generations", handle.db).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(429);
    expect(Number((err as ApiError).headers?.["Retry-After"])).toBeGreaterThanOrEqual(1);
    expect((err as ApiError).message).toMatch(/Too many key generations/);
    // Another person (or workspace) has a budget of their own.
    await expect(limit(limiter, "ws:bob", "key generations", handle.db)).resolves.toBeUndefined();
  });

  it("refill after the window", async () => {
    const limiter = rateLimiter(`test-${Math.random()}`, { max: 1, windowSeconds: 1 });
    await limit(limiter, "k", "x", handle.db);
    await expect(limit(limiter, "k", "x", handle.db)).rejects.toBeInstanceOf(ApiError);
    await new Promise((r) => setTimeout(r, 1100));
    await expect(limit(limiter, "k", "x", handle.db)).resolves.toBeUndefined();
  });

  it(tdb.name === "postgres" ? "are held in Postgres: two instances share one budget" : "are held in this process's memory", async () => {
    const name = `shared-${Math.random()}`;
    const rule = { max: 4, windowSeconds: 30 };
    // One Limiter per instance, as each process makes its own.
    const a = new Limiter(name, rule);
    const b = new Limiter(name, rule);
    expect(a.store(handle.db)).toBeInstanceOf(tdb.name === "postgres" ? RateLimiterPostgres : RateLimiterMemory);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a.consume(handle.db, "10.0.0.7") : b.consume(other.db, "10.0.0.7"))));
    if (tdb.name === "postgres") {
      expect(results.filter((r) => r === 0)).toHaveLength(4);
      const rows = await handle.db.select().from(rateLimits);
      expect(rows.some((r) => r.key === `${name}:10.0.0.7` && r.points === 8)).toBe(true);
      // Each instance now knows from memory that the address is blocked (no query needed).
      expect(a.blockedHere(handle.db, "10.0.0.7")).toBeGreaterThan(0);
      expect(b.blockedHere(other.db, "10.0.0.7")).toBeGreaterThan(0);
      expect(a.blockedHere(handle.db, "10.0.0.8")).toBe(0);
    } else {
      // Separate processes would count separately; here both objects are in one process with their own memory.
      expect(results.filter((r) => r === 0)).toHaveLength(8);
      // a spent its whole budget of 4 (b has its own): a is blocked now.
      expect(a.blockedHere(handle.db, "10.0.0.7")).toBeGreaterThan(0);
      expect(a.blockedHere(handle.db, "10.0.0.8")).toBe(0);
    }
  });

  it.runIf(tdb.name === "postgres")("fail closed (503) when the store is unreachable; an insured limiter counts in memory instead", async () => {
    const gone = await openDatabase({ url: handle.url! });
    await gone.close(); // a pool that can no longer query
    const err = await limit(new Limiter(`closed-${Math.random()}`, { max: 5, windowSeconds: 30 }), "10.0.0.1", "sign-in attempts", gone.db).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(503);
    expect((err as ApiError).headers?.["Retry-After"]).toBe("5");
    const insured = new Limiter(`insured-${Math.random()}`, { max: 2, windowSeconds: 30 }, { insured: true });
    expect(await insured.consume(gone.db, "10.0.0.1")).toBe(0);
    expect(await insured.consume(gone.db, "10.0.0.1")).toBe(0);
    expect(await insured.consume(gone.db, "10.0.0.1")).toBeGreaterThan(0);
  });
});
