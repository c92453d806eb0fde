// Verified API tokens are remembered briefly, never past a revocation or a departure.
import { afterEach, describe, expect, it } from "vitest";
import { defaultBus } from "@/lib/events";
import { VerifiedTokens, type VerifiedToken } from "./verified-tokens";

const T: VerifiedToken = { userId: "u1", email: "a@example.com", name: "A", workspaceId: "w1", tokenId: "k1", expiresAt: null };

describe("verified API tokens", () => {
  let cache: VerifiedTokens;
  afterEach(() => cache?.dispose());

  it("remembers a verification for its time, then asks again", () => {
    cache = new VerifiedTokens(1000);
    cache.set("mshk_a", T, cache.current, 0);
    expect(cache.get("mshk_a", 999)).toEqual(T);
    expect(cache.get("mshk_b", 999)).toBeNull();
    expect(cache.get("mshk_a", 1000)).toBeNull();
  });

  it("never past the token's own expiry", () => {
    cache = new VerifiedTokens(60_000);
    cache.set("mshk_a", { ...T, expiresAt: 500 }, cache.current, 0);
    expect(cache.get("mshk_a", 499)).not.toBeNull();
    expect(cache.get("mshk_a", 500)).toBeNull();
  });

  it("forgets a revoked token and a departed member's tokens at once, and keeps no verification that raced them", () => {
    cache = new VerifiedTokens(60_000);
    const now = Date.now();
    cache.set("mshk_a", T, cache.current, now);
    cache.set("mshk_b", { ...T, tokenId: "k2" }, cache.current, now);
    cache.set("mshk_c", { ...T, tokenId: "k3", workspaceId: "w2" }, cache.current, now);
    defaultBus().dispatch({ type: "token.revoked", workspaceId: "w1", tokenIds: ["k1"] });
    expect(cache.get("mshk_a", now)).toBeNull();
    expect(cache.get("mshk_b", now)).not.toBeNull();
    defaultBus().dispatch({ type: "member.removed", workspaceId: "w1", userId: "u1" });
    expect(cache.get("mshk_b", now)).toBeNull();
    expect(cache.get("mshk_c", now)).not.toBeNull(); // the same person's token for another workspace
    // A verification that began before a revocation is not remembered.
    const epoch = cache.current;
    defaultBus().dispatch({ type: "token.revoked", workspaceId: "w1", tokenIds: ["k9"] });
    cache.set("mshk_d", { ...T, tokenId: "k9" }, epoch, now);
    expect(cache.get("mshk_d", now)).toBeNull();
    defaultBus().dispatch({ type: "resync" });
    expect(cache.get("mshk_c", now)).toBeNull();
  });

  it("keys entries by the token's hash, not the token", () => {
    cache = new VerifiedTokens(60_000);
    cache.set("mshk_secret", T, cache.current);
    const keys = [...(cache as unknown as { entries: Map<string, unknown> }).entries.keys()];
    expect(keys).toEqual([VerifiedTokens.keyOf("mshk_secret")]);
    expect(keys[0]).not.toContain("mshk_secret");
  });
});
