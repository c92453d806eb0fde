import { describe, expect, it } from "vitest";
import { ApiError } from "./errors";
import { limit, rateLimiter } from "./rate-limit";

describe("rate limits", () => {
  it("allow MAX requests per window for a key, then answer 429 with Retry-After", async () => {
    const limiter = rateLimiter(`test-${Math.random()}`, { max: 2, windowSeconds: 30 });
    await limit(limiter, "ws:alice", "key generations");
    await limit(limiter, "ws:alice", "key generations");
    const err = await limit(limiter, "ws:alice", "key generations").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(429);
    expect(Number((err as ApiError).headers?.["Retry-After"])).toBeGreaterThanOrEqual(1);
    expect((err as ApiError).message).toMatch(/Too many key generations/);
    // Another person (or workspace) has a budget of their own.
    await expect(limit(limiter, "ws:bob", "key generations")).resolves.toBeUndefined();
  });

  it("refill after the window", async () => {
    const limiter = rateLimiter(`test-${Math.random()}`, { max: 1, windowSeconds: 1 });
    await limit(limiter, "k", "x");
    await expect(limit(limiter, "k", "x")).rejects.toBeInstanceOf(ApiError);
    await new Promise((r) => setTimeout(r, 1100));
    await expect(limit(limiter, "k", "x")).resolves.toBeUndefined();
  });
});
