// The answer to "which keys may log in as `mesh` on target T right now?", served
// from memory: every sshd asks it at every login, so a login storm must not become
// a database storm. Cached: each target's row (its token hash, status, last report,
// bridge generation) and each workspace's current key. Dropped by the events of
// lib/events.ts (key regenerated or revoked, target booted, stopped, removed or
// rotated), which run before the request that made the change answers: a revoked
// key is refused at the very next login. A login whose token was already seen to
// match its target is answered synchronously (`fromMemory`): no hash, no promise.
import { timingSafeEqual } from "node:crypto";
import type { Db } from "@/db/client";
import { config } from "@/lib/config";
import type { ComputeTarget, WorkspaceKey } from "@/db/schema";
import { eventsHeard, subscribe } from "@/lib/events";
import { processGlobal } from "@/lib/global";
import { currentKey } from "@/lib/keys/store";
import { isUuid } from "@/lib/util/uuid";
import { authorizedKeysFor, formatAuthorizedKeys, type AuthorizedKey } from "./authorized-keys";
import { effectiveStatus, findTarget } from "./registry";
import { tokenMatches } from "./target-token";

export type LookupResult = { ok: true; text: string; target: ComputeTarget } | { ok: false };

/** An unknown target id is remembered this long, so a flood of made-up ids does not reach the database. */
const MISSING_TTL_MS = 5_000;
/** A target that is not live is re-read at most this often (it may have booted on another instance). */
const RECHECK_MS = 1_000;
const MAX_ENTRIES = 100_000;
/** Defence in depth: nothing cached is used for longer than this without reading it again. */
const MAX_AGE_MS = 5 * 60_000;

interface TargetEntry {
  row: ComputeTarget;
  checkedAt: number;
  /**
   * The token last seen to match this row's hash, byte for byte: the same string again
   * is let in without hashing it (compared in constant time). Dropped with the entry,
   * so by every change to the target (a rotated token included).
   */
  token?: Buffer;
  /** The last answer, for the key and liveness it was made from. */
  answer?: { user: string; key: WorkspaceKey | null; live: boolean; text: string };
}

function sameToken(known: Buffer, token: string): boolean {
  const got = Buffer.from(token);
  return got.length === known.length && timingSafeEqual(got, known);
}

export class KeyLookup {
  private readonly targets = new Map<string, TargetEntry>();
  private readonly missing = new Map<string, number>();
  private readonly keys = new Map<string, WorkspaceKey | null>();
  private readonly loading = new Map<string, Promise<unknown>>();
  /** Bumped by every invalidation: a load that started before it must not be cached. */
  private epoch = 0;
  private clearedAt = Date.now();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly db: Db,
    private readonly liveWindowMs: number,
  ) {
    this.unsubscribe = subscribe((e) => {
      this.epoch++;
      if (e.type === "resync") this.clear();
      else if (e.type === "workspace-key.changed") this.keys.delete(e.workspaceId);
      else if ("targetId" in e) {
        this.targets.delete(e.targetId);
        this.missing.delete(e.targetId);
      }
    });
  }

  clear(): void {
    this.targets.clear();
    this.missing.clear();
    this.keys.clear();
  }

  dispose(): void {
    this.unsubscribe();
    this.clear();
  }

  /**
   * Whether memory alone says `token` is not the target's: the target is not cached
   * (nothing to check it against without the database), or its cached row's hash does
   * not match. For an address over the wrong-token limit, either is a 429.
   */
  refusesFromMemory(targetId: string, token: string | null): boolean {
    this.distrustIfDeaf(Date.now());
    const entry = this.targets.get(targetId);
    return !entry || !tokenMatches(entry.row, token);
  }

  /** Whether `targetId` is cached: its token can be checked without the database. */
  isCached(targetId: string): boolean {
    return this.targets.has(targetId);
  }

  /**
   * The authorized_keys text for `user` on target `targetId`, or { ok: false } when
   * the target does not exist or the token is not its token (the same answer for both).
   */
  async lookup(targetId: string, token: string | null, user: string, now = Date.now()): Promise<LookupResult> {
    if (!token || !isUuid(targetId)) return { ok: false };
    const known = this.fromMemory(targetId, token, user, now); // distrusts the cache first when deaf
    if (known) return known;
    let entry = this.targets.get(targetId);
    if (!entry) {
      if ((this.missing.get(targetId) ?? 0) > now) return { ok: false };
      const row = await this.loadTarget(targetId, now);
      if (!row) return { ok: false };
      entry = this.targets.get(targetId) ?? { row, checkedAt: now };
    }
    if (!tokenMatches(entry.row, token)) return { ok: false };
    let target = entry.row;
    // A cached row that no longer counts as live may only be out of date (heartbeats
    // are not events): read it again, at most once a second.
    if (effectiveStatus(target, this.liveWindowMs, now) !== "live" && now - entry.checkedAt >= RECHECK_MS) {
      target = (await this.loadTarget(targetId, now)) ?? target;
      if (!tokenMatches(target, token)) return { ok: false };
    }
    // Remembered only on the entry holding the very row it was checked against.
    const current = this.targets.get(targetId);
    if (current?.row === target) current.token = Buffer.from(token);
    const live = effectiveStatus(target, this.liveWindowMs, now) === "live";
    const key = live ? await this.workspaceKey(target.workspaceId) : null;
    return { ok: true, text: formatAuthorizedKeys(authorizedKeysFor(target, user, key, { liveWindowMs: this.liveWindowMs, now })), target };
  }

  /**
   * The answer when memory alone can give it, at once (no promise): the target and its
   * workspace's key are cached and `token` is the one already seen to match. Null
   * otherwise, and for a token it does not know: `lookup` then decides (a wrong token
   * is only ever refused there, with the hash compared).
   */
  fromMemory(targetId: string, token: string | null, user: string, now = Date.now()): LookupResult | null {
    if (!token) return null;
    this.distrustIfDeaf(now);
    const entry = this.targets.get(targetId);
    if (!entry?.token || !sameToken(entry.token, token)) return null;
    const target = entry.row;
    const live = effectiveStatus(target, this.liveWindowMs, now) === "live";
    if (!live && now - entry.checkedAt >= RECHECK_MS) return null; // may be out of date: read it again
    if (live && !this.keys.has(target.workspaceId)) return null;
    const key = live ? (this.keys.get(target.workspaceId) ?? null) : null;
    const a = entry.answer;
    if (a && a.user === user && a.key === key && a.live === live) return { ok: true, text: a.text, target };
    const text = formatAuthorizedKeys(authorizedKeysFor(target, user, key, { liveWindowMs: this.liveWindowMs, now }));
    entry.answer = { user, key, live, text };
    return { ok: true, text, target };
  }

  /**
   * While changes from other instances cannot reach us (the LISTEN connection is
   * down, typically because the database is), nothing cached is trusted: every
   * lookup goes to the database, so with the database gone logins fail closed.
   * Everything is also re-read after MAX_AGE_MS.
   */
  private distrustIfDeaf(now: number): void {
    if (!eventsHeard()) {
      this.clear();
      this.epoch++;
      return;
    }
    if (now - this.clearedAt > MAX_AGE_MS) {
      this.clear();
      this.clearedAt = now;
    }
  }

  private async loadTarget(id: string, now: number): Promise<ComputeTarget | null> {
    return this.once(`t:${id}:${this.epoch}`, async () => {
      const epoch = this.epoch;
      const row = await findTarget(this.db, id);
      if (epoch !== this.epoch) return row; // changed meanwhile: use, don't keep
      if (this.targets.size + this.missing.size >= MAX_ENTRIES) {
        this.targets.clear();
        this.missing.clear();
      }
      if (row) this.targets.set(id, { row, checkedAt: now });
      else this.missing.set(id, now + MISSING_TTL_MS);
      return row;
    });
  }

  private async workspaceKey(workspaceId: string): Promise<WorkspaceKey | null> {
    if (this.keys.has(workspaceId)) return this.keys.get(workspaceId) ?? null;
    return this.once(`k:${workspaceId}:${this.epoch}`, async () => {
      const epoch = this.epoch;
      const key = await currentKey(this.db, workspaceId);
      if (epoch === this.epoch) {
        if (this.keys.size >= MAX_ENTRIES) this.keys.clear();
        this.keys.set(workspaceId, key);
      }
      return key;
    });
  }

  /**
   * The keys for `user` on target `targetId`, for a caller inside the control plane
   * that needs no token (the embedded target's own logins).
   */
  async keysFor(targetId: string, user: string, now = Date.now()): Promise<AuthorizedKey[]> {
    this.distrustIfDeaf(now);
    let entry = this.targets.get(targetId);
    let target = entry?.row ?? (await this.loadTarget(targetId, now));
    if (!target) return [];
    entry = this.targets.get(targetId);
    if (effectiveStatus(target, this.liveWindowMs, now) !== "live" && (!entry || now - entry.checkedAt >= RECHECK_MS)) {
      target = (await this.loadTarget(targetId, now)) ?? target;
    }
    const live = effectiveStatus(target, this.liveWindowMs, now) === "live";
    return authorizedKeysFor(target, user, live ? await this.workspaceKey(target.workspaceId) : null, { liveWindowMs: this.liveWindowMs, now });
  }

  /** Concurrent misses for the same thing (since the last invalidation) share one query. */
  private once<T>(key: string, load: () => Promise<T>): Promise<T> {
    const pending = this.loading.get(key) as Promise<T> | undefined;
    if (pending) return pending;
    const p = load().finally(() => this.loading.delete(key));
    this.loading.set(key, p);
    return p;
  }
}

/** The process's lookup (the lean HTTP path in server.ts and the Next route share it). */
export function keyLookup(db: Db, liveWindowMs = config().targetLiveWindowMs): KeyLookup {
  return keyLookupGlobal.get() ?? keyLookupGlobal.set(new KeyLookup(db, liveWindowMs));
}

/** Made by the first keyLookup() call, with its database; a test forgets it to start with an empty cache. */
export const keyLookupGlobal = processGlobal<KeyLookup | null>("key-lookup", () => null);
