// People behind session cookies this process resolved a moment ago, for one use only:
// refusing a key generation before Next when that person is already over a limit
// (lib/lean-routes.ts). A keygen flood from a browser session otherwise costs Next's
// whole pipeline (~4-6 ms of the one main thread) per refused request.
//
// It never grants anything: whatever it says, a request it does not refuse goes to the
// route, which resolves the session again. So a stale entry (a session signed out or
// expired since) can only turn that session's would-be 401 into the same person's 429,
// and an entry needs no invalidation beyond its short life. Keys are the SHA-256 of
// the cookie's value, never the value.
import { createHash } from "node:crypto";
import { processGlobal } from "@/lib/global";

const TTL_MS = 30_000;
const MAX_ENTRIES = 10_000;

/** The session cookie's value in a Cookie header (either cookie name better-auth uses here), or null. */
export function sessionCookieValue(cookieHeader: string | null | undefined): string | null {
  const m = /(?:^|;\s*)(?:__Secure-)?meshia\.session_token=([^;]+)/.exec(cookieHeader ?? "");
  return m?.[1] ?? null;
}

export class RecentSessions {
  readonly #entries = new Map<string, { userId: string; until: number }>();

  constructor(private readonly ttlMs = TTL_MS) {}

  static #keyOf(cookieValue: string): string {
    return createHash("sha256").update(cookieValue).digest("base64url");
  }

  /** `userId` was just resolved from this session cookie value. */
  remember(cookieValue: string, userId: string, now = Date.now()): void {
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
    this.#entries.set(RecentSessions.#keyOf(cookieValue), { userId, until: now + this.ttlMs });
  }

  /** Who this session cookie value belonged to a moment ago, if this process knows. */
  personOf(cookieValue: string, now = Date.now()): string | null {
    const key = RecentSessions.#keyOf(cookieValue);
    const e = this.#entries.get(key);
    if (!e) return null;
    if (now >= e.until) {
      this.#entries.delete(key);
      return null;
    }
    return e.userId;
  }

  get size(): number {
    return this.#entries.size;
  }
}

export const recentSessionsGlobal = processGlobal("recent-sessions", () => new RecentSessions());

export function recentSessions(): RecentSessions {
  return recentSessionsGlobal.get();
}
