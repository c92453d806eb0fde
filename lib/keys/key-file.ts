// Long-lived Ed25519 keys the control plane owns (the embedded target's host key):
// created once in the data directory, mode 600, and checked at every start.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import ssh2 from "ssh2";
import type { Logger } from "@/lib/log";
import { fingerprintOf } from "./fingerprint";
import { ed25519FromSeed, ed25519SeedOf, generateEd25519 } from "./openssh-key";

export interface KeyFile {
  path: string;
  privateKey: string;
  publicKey: string;
  fingerprint: string;
}

function publicLineOf(privateKey: string, comment: string): string | null {
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) return null;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key) return null;
  return `${key.type} ${key.getPublicSSH().toString("base64")} ${comment}`.trim();
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600, flag: "w" });
  renameSync(tmp, file);
}

/**
 * Loads the key at `file`, creating it when missing. A key that cannot be read back
 * is repaired: earlier versions used ssh2's generator, which wrote one Ed25519 key
 * in 256 with a malformed public half (leading zero bytes dropped). Its seed is
 * intact, so the same key is rewritten correctly; a file that holds no usable seed
 * at all never worked (every start failed on it) and is replaced by a new key.
 */
export function loadOrCreateKeyFile(file: string, comment: string, log?: Pick<Logger, "warn">): KeyFile {
  let privateKey: string;
  try {
    privateKey = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    privateKey = generateEd25519(comment).privateKey;
    writeFileSync(file, privateKey, { mode: 0o600, flag: "wx" });
  }
  let publicKey = publicLineOf(privateKey, comment);
  if (!publicKey) {
    const seed = ed25519SeedOf(privateKey);
    const repaired = seed ? ed25519FromSeed(seed, comment) : generateEd25519(comment);
    writeAtomically(file, repaired.privateKey);
    log?.warn(
      { file, repaired: !!seed },
      seed ? "repaired a malformed key file written by an earlier version (same key)" : "replaced an unreadable key file with a new key",
    );
    privateKey = repaired.privateKey;
    publicKey = publicLineOf(privateKey, comment);
    if (!publicKey) throw new Error(`unreadable key file ${file}`);
  }
  chmodSync(file, 0o600);
  return { path: file, privateKey, publicKey, fingerprint: fingerprintOf(publicKey) };
}
