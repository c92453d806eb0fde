// OpenSSH public-key lines and their SHA256 fingerprints, exactly as `ssh-keygen -lf` prints them.
import { createHash } from "node:crypto";

export interface PublicKeyLine {
  type: string;
  blob: Buffer;
  comment: string;
}

const KEY_TYPES = new Set([
  "ssh-rsa",
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
]);

/** Parses `type base64 [comment]`; returns null for anything that is not a well-formed key line. */
export function parsePublicKeyLine(line: string): PublicKeyLine | null {
  const m = /^([a-z0-9@.-]+) ([A-Za-z0-9+/]+={0,2})(?: (.*))?$/.exec(line.trim());
  if (!m) return null;
  const [, type, b64, comment] = m as unknown as [string, string, string, string | undefined];
  if (!KEY_TYPES.has(type)) return null;
  const blob = Buffer.from(b64, "base64");
  // The blob starts with the key type as an SSH string; a mismatch means a forged or corrupt line.
  if (blob.length < 4) return null;
  const len = blob.readUInt32BE(0);
  if (blob.length < 4 + len || blob.subarray(4, 4 + len).toString("latin1") !== type) return null;
  return { type, blob, comment: comment ?? "" };
}

export function fingerprintOfBlob(blob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

export function fingerprintOf(line: string): string {
  const parsed = parsePublicKeyLine(line);
  if (!parsed) throw new Error("not an OpenSSH public-key line");
  return fingerprintOfBlob(parsed.blob);
}

/** The `type base64` part, without the comment: what two lines must share to be the same key. */
export function keyIdentity(line: string): string | null {
  const parsed = parsePublicKeyLine(line);
  return parsed ? `${parsed.type} ${parsed.blob.toString("base64")}` : null;
}

/** The key type as ssh names it in "ED25519 key fingerprint is SHA256:…" (and ssh-keygen -l in parentheses). */
export function keyTypeLabel(type: string): string {
  if (type === "ssh-ed25519") return "ED25519";
  if (type === "ssh-rsa") return "RSA";
  if (type.startsWith("ecdsa-")) return "ECDSA";
  if (type.startsWith("sk-ssh-ed25519")) return "ED25519-SK";
  if (type.startsWith("sk-ecdsa")) return "ECDSA-SK";
  return type.toUpperCase();
}
