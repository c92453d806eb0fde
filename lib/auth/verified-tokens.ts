// API tokens already verified, remembered for a few seconds. better-auth's api-key
// plugin writes the token's row at every verification (lastRequest and updatedAt,
// two UPDATEs, with no option to turn them off in database storage), so a script
// hammering the API cost the database two writes a request, and on PGlite (in this
// process) everybody else's time with it.
//
// What is remembered is keyed by the token's SHA-256, never the token. It is forgotten
// at once when the token is revoked or its owner leaves the workspace (the events of
// lib/events.ts, heard from every instance), and not used at all while events from other
// instances cannot be heard: then every request is verified by better-auth again.
// The token list's "last used" is as fresh as TTL_MS.
import { createHash } from "node:crypto";
import { eventsHeard, subscribe } from "@/lib/events";
import { processGlobal } from "@/lib/global";

const TTL_MS = 30_000;
const MAX_ENTRIES = 10_000;

export interface VerifiedToken {
  userId: string;
  email: string;
  name: string;
  workspaceId: string;
  tokenId: string;
  /** When the token itself expires (ms since the epoch), if it does. */
  expiresAt: number | null;
}

export class VerifiedTokens {
  private readonly entries = new Map<string, { token: VerifiedToken; until: number }>();
  /** Bumped by every revocation: a verification that started before one is not remembered. */
  private epoch = 0;
  private readonly unsubscribe: () => void;

  constructor(private readonly ttlMs = TTL_MS) {
    this.unsubscribe = subscribe((e) => {
      if (e.type === "resync") return this.clear();
      if (e.type === "token.revoked") {
        this.epoch++;
        const ids = new Set(e.tokenIds);
        for (const [k, v] of this.entries) if (ids.has(v.token.tokenId)) this.entries.delete(k);
      } else if (e.type === "member.removed") {
        this.epoch++;
        for (const [k, v] of this.entries) if (v.token.userId === e.userId && v.token.workspaceId === e.workspaceId) this.entries.delete(k);
      }
    });
  }

  /** A token's key in the map: its hash, so that no token is kept in memory. */
  static keyOf(token: string): string {
    return createHash("sha256").update(token).digest("base64url");
  }

  /** The remembered verification of `token`, if it is still good. */
  get(token: string, now = Date.now()): VerifiedToken | null {
    if (!eventsHeard()) {
      this.clear();
      return null;
    }
    const key = VerifiedTokens.keyOf(token);
    const e = this.entries.get(key);
    if (!e) return null;
    if (now >= e.until) {
      this.entries.delete(key);
      return null;
    }
    return e.token;
  }

  /** The epoch to pass to `set` (read it before verifying). */
  get current(): number {
    return this.epoch;
  }

  /** Remembers a verification that began at `epoch`, unless a revocation came meanwhile. */
  set(token: string, verified: VerifiedToken, epoch: number, now = Date.now()): void {
    if (epoch !== this.epoch || !eventsHeard()) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    const until = Math.min(now + this.ttlMs, verified.expiresAt ?? Infinity);
    if (until > now) this.entries.set(VerifiedTokens.keyOf(token), { token: verified, until });
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }

  dispose(): void {
    this.unsubscribe();
    this.clear();
  }
}

/** The process's (server.ts and the route handlers share it). */
export const verifiedTokensGlobal = processGlobal("verified-tokens", () => new VerifiedTokens());

export function verifiedTokens(): VerifiedTokens {
  return verifiedTokensGlobal.get();
}
