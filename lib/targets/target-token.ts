// A target's own token (`mtt_…`): shown once at registration, stored only as its
// SHA-256, and what target-facing routes and the key lookup authenticate with.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { ComputeTarget } from "@/db/schema";

const TOKEN_PREFIX = "mtt_";

export function newTargetToken(): { token: string; hash: string } {
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function tokenMatches(t: ComputeTarget, token: string | null): boolean {
  if (!token || !t.tokenHash) return false;
  const a = Buffer.from(hashToken(token), "hex");
  const b = Buffer.from(t.tokenHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
