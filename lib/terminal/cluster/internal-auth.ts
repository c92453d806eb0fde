// Instance-to-instance requests (a terminal socket proxied to the instance holding
// its session) carry a grant signed with HMAC-SHA256 under a key derived from the
// shared internal secret: what the forwarding instance checked (ticket, principal,
// membership) and which session, for which instance, until when. The owner accepts a
// grant once, for itself, before it expires; a browser cannot make one.
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import path from "node:path";
import { z } from "zod";
import { config } from "@/lib/config";
import { processGlobal } from "@/lib/global";
import { loadOrCreateSecret } from "@/lib/keys/secret-file";

/** The header an internal upgrade carries its grant in. */
export const INTERNAL_GRANT_HEADER = "x-meshia-internal-grant";
/** The owner's endpoint for proxied terminal sockets. Never for browsers: a grant is required. */
export const INTERNAL_TERMINAL_PATH = "/internal/terminal";
/** A grant is used within milliseconds of being made; this only covers clock skew and a slow connect. */
export const GRANT_TTL_MS = 10_000;

const grantSchema = z.strictObject({
  v: z.literal(1),
  /** The instance the grant is for: another instance cannot accept it. */
  to: z.uuid(),
  sessionId: z.uuid(),
  workspaceId: z.uuid(),
  targetId: z.uuid(),
  userId: z.string().max(200).nullable(),
  /** Resume from this output offset; null attaches as a fresh socket of the session. */
  resume: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable(),
  exp: z.number().int(),
  nonce: z.string().min(16).max(64),
});

export type Grant = z.infer<typeof grantSchema>;
export type GrantRequest = Omit<Grant, "v" | "exp" | "nonce">;

/** The signing key: HKDF of MESHIA_INTERNAL_SECRET, or of the auth secret every instance already shares. */
export function deriveInternalKey(secret: string): Buffer {
  return Buffer.from(hkdfSync("sha256", secret, "meshia", "internal-grant/v1", 32));
}

const key = processGlobal("internal-key", () => {
  const cfg = config();
  const secret = cfg.cluster.internalSecret ?? cfg.auth.secret ?? loadOrCreateSecret(path.join(cfg.dataDir, "keys", "auth_secret"));
  return deriveInternalKey(secret);
});

export function internalKey(): Buffer {
  return key.get();
}

const mac = (key: Buffer, payload: string) => createHmac("sha256", key).update(payload).digest();

export function signGrant(key: Buffer, req: GrantRequest, now = Date.now()): string {
  const grant: Grant = { v: 1, ...req, exp: now + GRANT_TTL_MS, nonce: randomBytes(16).toString("base64url") };
  const payload = Buffer.from(JSON.stringify(grant)).toString("base64url");
  return `${payload}.${mac(key, payload).toString("base64url")}`;
}

export type GrantRefusal = "missing" | "malformed" | "bad-signature" | "expired" | "wrong-instance" | "replayed";

/** Nonces of accepted grants, kept until they expire: a grant works once. */
export class NonceCache {
  private readonly seen = new Map<string, number>();
  /** True the first time a nonce is offered before `exp`. */
  take(nonce: string, exp: number, now = Date.now()): boolean {
    if (this.seen.size > 1000) for (const [n, e] of this.seen) if (e < now) this.seen.delete(n);
    if (this.seen.has(nonce)) return false;
    this.seen.set(nonce, exp);
    return true;
  }
}

export function verifyGrant(
  key: Buffer,
  header: string | string[] | undefined,
  self: string,
  nonces: NonceCache,
  now = Date.now(),
): { ok: true; grant: Grant } | { ok: false; reason: GrantRefusal } {
  if (typeof header !== "string" || !header) return { ok: false, reason: "missing" };
  const dot = header.indexOf(".");
  if (dot <= 0 || header.length > 4096) return { ok: false, reason: "malformed" };
  const payload = header.slice(0, dot);
  const sig = Buffer.from(header.slice(dot + 1), "base64url");
  const want = mac(key, payload);
  if (sig.length !== want.length || !timingSafeEqual(sig, want)) return { ok: false, reason: "bad-signature" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  const r = grantSchema.safeParse(parsed);
  if (!r.success) return { ok: false, reason: "malformed" };
  const grant = r.data;
  if (grant.exp < now || grant.exp > now + GRANT_TTL_MS * 2) return { ok: false, reason: "expired" };
  if (grant.to !== self) return { ok: false, reason: "wrong-instance" };
  if (!nonces.take(grant.nonce, grant.exp, now)) return { ok: false, reason: "replayed" };
  return { ok: true, grant };
}
