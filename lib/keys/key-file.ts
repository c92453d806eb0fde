// Long-lived ed25519 keys the control plane owns (the embedded target's host key,
// the bridge's client key): created once in the data directory, mode 600.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import ssh2 from "ssh2";
import { fingerprintOf } from "./fingerprint";

export interface KeyFile {
  path: string;
  privateKey: string;
  publicKey: string;
  fingerprint: string;
}

function publicLineOf(privateKey: string, comment: string): string {
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new Error(`unreadable key file: ${parsed.message}`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key) throw new Error("unreadable key file: no key");
  return `${key.type} ${key.getPublicSSH().toString("base64")} ${comment}`.trim();
}

export function loadOrCreateKeyFile(file: string, comment: string): KeyFile {
  let privateKey: string;
  try {
    privateKey = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const pair = ssh2.utils.generateKeyPairSync("ed25519", { comment });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, pair.private, { mode: 0o600, flag: "wx" });
    renameSync(tmp, file);
    privateKey = pair.private;
  }
  chmodSync(file, 0o600);
  const publicKey = publicLineOf(privateKey, comment);
  return { path: file, privateKey, publicKey, fingerprint: fingerprintOf(publicKey) };
}
