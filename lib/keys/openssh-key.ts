// Ed25519 keys made with Node's crypto and written in OpenSSH's private-key format
// ("openssh-key-v1"), which both ssh2 and `ssh -i` read.
//
// Why not ssh2.utils.generateKeyPairSync("ed25519"): it strips leading zero bytes
// from the public key (mscdex/ssh2 #1390, #1513), so one key in 256 is written
// broken and cannot be read back ("Malformed OpenSSH private key").
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";

export const OPENSSH_BEGIN = "-----BEGIN OPENSSH " + "PRIVATE KEY-----";
export const OPENSSH_END = "-----END OPENSSH " + "PRIVATE KEY-----";
const MAGIC = Buffer.from("openssh-key-v1\0", "latin1");
const ED25519 = "ssh-ed25519";
/** DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows. */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export interface Ed25519Key {
  /** The OpenSSH private key file (LF line ends, one final newline). */
  privateKey: string;
  /** `ssh-ed25519 base64 comment` */
  publicKey: string;
  /** The public key as an SSH wire blob (what a server compares at login). */
  blob: Buffer;
}

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === "string" ? Buffer.from(data, "latin1") : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** The 32-byte public key of an Ed25519 seed. */
export function ed25519PublicOf(seed: Buffer): Buffer {
  if (seed.length !== 32) throw new Error("an Ed25519 seed is 32 bytes");
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" });
  const x = createPublicKey(priv).export({ format: "jwk" }).x;
  if (!x) throw new Error("no public key");
  return Buffer.from(x, "base64url");
}

export function ed25519Blob(pub: Buffer): Buffer {
  return Buffer.concat([sshString(ED25519), sshString(pub)]);
}

/**
 * The key for `seed`, as OpenSSH writes it (unencrypted). Deterministic: the same
 * seed and comment always give the same file (the check integers come from the seed).
 */
export function ed25519FromSeed(seed: Buffer, comment: string): Ed25519Key {
  return encodeEd25519(seed, ed25519PublicOf(seed), comment);
}

/** Writes the file for a seed and the public key given (tests pass a wrong one on purpose). */
export function encodeEd25519(seed: Buffer, pub: Buffer, comment: string): Ed25519Key {
  const blob = ed25519Blob(pub);
  const check = createHash("sha256").update("meshia-openssh-checkint").update(seed).digest().readUInt32BE(0);
  const parts = [uint32(check), uint32(check), sshString(ED25519), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)];
  let section = Buffer.concat(parts);
  const pad = (8 - (section.length % 8)) % 8;
  section = Buffer.concat([section, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([MAGIC, sshString("none"), sshString("none"), sshString(""), uint32(1), sshString(blob), sshString(section)]);
  const b64 = body
    .toString("base64")
    .replace(/(.{70})/g, "$1\n")
    .replace(/\n$/, "");
  return {
    privateKey: `${OPENSSH_BEGIN}\n${b64}\n${OPENSSH_END}\n`,
    publicKey: `${ED25519} ${blob.toString("base64")}${comment ? ` ${comment}` : ""}`,
    blob,
  };
}

/** A new random Ed25519 key. */
export function generateEd25519(comment: string): Ed25519Key {
  const { privateKey } = generateKeyPairSync("ed25519");
  const d = privateKey.export({ format: "jwk" }).d;
  if (!d) throw new Error("no private key");
  return ed25519FromSeed(Buffer.from(d, "base64url"), comment);
}

/** A random seed, for callers that keep the seed (tests forcing a particular key). */
export function randomSeed(): Buffer {
  return randomBytes(32);
}

/**
 * The seed of an unencrypted OpenSSH Ed25519 private key file, read leniently: it
 * tolerates the public-key fields ssh2 used to write without their leading zero
 * bytes, so such a key can be rewritten correctly. Null when it is not such a file.
 */
export function ed25519SeedOf(pem: string): Buffer | null {
  const m = new RegExp(`${OPENSSH_BEGIN}\\s*([A-Za-z0-9+/=\\s]+?)\\s*${OPENSSH_END}`).exec(pem);
  if (!m?.[1]) return null;
  const buf = Buffer.from(m[1].replace(/\s+/g, ""), "base64");
  let off = 0;
  const readString = (): Buffer | null => {
    if (off + 4 > buf.length) return null;
    const len = buf.readUInt32BE(off);
    if (off + 4 + len > buf.length) return null;
    const s = buf.subarray(off + 4, off + 4 + len);
    off += 4 + len;
    return s;
  };
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  off = MAGIC.length;
  const cipher = readString();
  const kdf = readString();
  if (cipher?.toString() !== "none" || kdf?.toString() !== "none") return null;
  readString(); // kdf options
  if (off + 4 > buf.length || buf.readUInt32BE(off) !== 1) return null;
  off += 4;
  readString(); // public blob (possibly malformed)
  const section = readString();
  if (!section) return null;
  // Inside: two check ints, the key type, the public key, then seed || public key.
  const inner = { buf: section, off: 8 };
  const innerString = (): Buffer | null => {
    if (inner.off + 4 > inner.buf.length) return null;
    const len = inner.buf.readUInt32BE(inner.off);
    if (inner.off + 4 + len > inner.buf.length) return null;
    const s = inner.buf.subarray(inner.off + 4, inner.off + 4 + len);
    inner.off += 4 + len;
    return s;
  };
  if (innerString()?.toString() !== ED25519) return null;
  innerString(); // public key (possibly short)
  const priv = innerString();
  // 64 bytes (seed || public) when written correctly; the seed is the first 32 either way.
  if (!priv || priv.length < 32) return null;
  return Buffer.from(priv.subarray(0, 32));
}
