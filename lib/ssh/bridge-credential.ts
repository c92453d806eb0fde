// The bridge's credential for one target: an Ed25519 key derived from a
// control-plane secret, the target's id and the target's credential generation.
//
// What opens target T opens T alone: T's authorized-keys answer carries T's bridge
// key and no other, so a target registered by someone else at T's address gets its
// own key, which T refuses. Derived rather than stored: nothing private is ever in
// the database, and every control-plane instance that shares the secret derives the
// same keys without coordinating. Rotation bumps the target's generation (one
// target) or changes the secret (every target at once).
//
// The embedded target's host key comes from the same secret (its own salt, so the two
// are unrelated keys): whichever instance takes the embedded target over presents the
// same host key without any private key stored or a data volume shared.
import "@/lib/server-only";
import { hkdfSync } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";
import { config } from "@/lib/config";
import { processGlobal } from "@/lib/global";
import { ed25519FromSeed, type Ed25519Key } from "@/lib/keys/openssh-key";
import { loadOrCreateSecret } from "@/lib/keys/secret-file";

export interface BridgeCredentialRef {
  id: string;
  bridgeGeneration: number;
}

const SALT = "meshia-bridge-credential-v1";
const HOST_KEY_SALT = "meshia-embedded-host-key-v1";
const CACHE_LIMIT = 10_000;

const bridgeSecret = processGlobal("bridge-secret", () => config().bridgeSecret ?? loadOrCreateSecret(path.join(config().dataDir, "keys", "bridge_secret")));
const publicKeys = processGlobal("bridge-public-keys", () => new Map<string, { publicKey: string; blob: Buffer }>());

function secret(): string {
  return bridgeSecret.get();
}

/** Derives the key for (target, generation) from `secretValue`. Pure: the same inputs give the same key. */
export function deriveBridgeKey(secretValue: string, targetId: string, generation: number): Ed25519Key {
  const seed = Buffer.from(hkdfSync("sha256", secretValue, SALT, `${targetId}:${generation}`, 32));
  return ed25519FromSeed(seed, `meshia-bridge-${targetId.slice(0, 8)}-g${generation}`);
}

/** The embedded target `targetId`'s host key, derived from `secretValue`. Pure, as deriveBridgeKey. */
export function deriveEmbeddedHostKey(secretValue: string, targetId: string): Ed25519Key {
  const seed = Buffer.from(hkdfSync("sha256", secretValue, HOST_KEY_SALT, targetId, 32));
  return ed25519FromSeed(seed, "meshia-local-host");
}

/** The embedded target's host key as every instance derives it: kept nowhere but in the SSH server that presents it. */
export function embeddedHostKey(targetId: string): Ed25519Key {
  return deriveEmbeddedHostKey(secret(), targetId);
}

/** The private key the bridge logs in to `target` with: derived when needed, kept nowhere. */
export function bridgePrivateKey(target: BridgeCredentialRef): string {
  return deriveBridgeKey(secret(), target.id, target.bridgeGeneration).privateKey;
}

/**
 * The public half, as the target's authorized-keys answer carries it. Cached (the
 * lookup runs at every login); only public material is kept.
 */
export function bridgePublicKey(target: BridgeCredentialRef): { publicKey: string; blob: Buffer } {
  const cache = publicKeys.get();
  const key = `${target.id}:${target.bridgeGeneration}`;
  let found = cache.get(key);
  if (!found) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    const { publicKey, blob } = deriveBridgeKey(secret(), target.id, target.bridgeGeneration);
    found = { publicKey, blob };
    cache.set(key, found);
  }
  return found;
}

/**
 * Makes the secret before anything needs it (first start), so a failure to write it
 * shows at start. Earlier versions logged in to every target with one global key
 * (keys/bridge_ed25519); no target accepts it any more, and it is removed.
 */
export function ensureBridgeSecret(log?: { info(obj: object, msg: string): void }): void {
  secret();
  const legacy = path.join(config().dataDir, "keys", "bridge_ed25519");
  try {
    rmSync(legacy);
    log?.info({ file: legacy }, "removed the old global bridge key: every target now has its own bridge credential");
  } catch {
    // not there
  }
}
