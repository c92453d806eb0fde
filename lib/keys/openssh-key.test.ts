// OpenSSH Ed25519 keys checked against the references: ssh-keygen and ssh2's parser,
// including the keys ssh2's own generator writes broken (public key starting with 0x00).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import ssh2 from "ssh2";
import { afterAll, describe, expect, it } from "vitest";
import { fingerprintOf, parsePublicKeyLine } from "./fingerprint";
import { ed25519FromSeed, ed25519PublicOf, encodeEd25519, ed25519SeedOf, generateEd25519, randomSeed } from "./openssh-key";

function sshKeygen(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("ssh-keygen", args, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)));
  });
}

/** A seed whose public key starts with 0x00: the case ssh2's generator gets wrong. */
function seedWithLeadingZero(): Buffer {
  for (;;) {
    const seed = randomSeed();
    if (ed25519PublicOf(seed)[0] === 0) return seed;
  }
}

describe("OpenSSH Ed25519 keys", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "meshia-openssh-key-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases = [
    ["a random key", () => generateEd25519("meshia-test")],
    ["a key whose public half starts with 0x00", () => ed25519FromSeed(seedWithLeadingZero(), "meshia-test")],
  ] as const;

  it.each(cases)("%s: ssh-keygen reads it and derives the same public line and fingerprint", async (_name, make) => {
    const key = make();
    const file = path.join(dir, `k-${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, key.privateKey, { mode: 0o600 });
    const pub = (await sshKeygen(["-y", "-f", file])).trim();
    expect(pub.split(" ").slice(0, 2).join(" ")).toBe(key.publicKey.split(" ").slice(0, 2).join(" "));
    const fp = (await sshKeygen(["-l", "-E", "sha256", "-f", file])).split(" ")[1];
    expect(fp).toBe(fingerprintOf(key.publicKey));
    expect(parsePublicKeyLine(key.publicKey)?.blob.equals(key.blob)).toBe(true);
  });

  it.each(cases)("%s: ssh2 parses it, signs with it, and the signature verifies against the public blob", (_name, make) => {
    const key = make();
    const parsed = ssh2.utils.parseKey(key.privateKey);
    if (parsed instanceof Error) throw parsed;
    const k = Array.isArray(parsed) ? parsed[0]! : parsed;
    expect(k.getPublicSSH().equals(key.blob)).toBe(true);
    const data = Buffer.from("meshia");
    const sig = k.sign(data);
    if (sig instanceof Error) throw sig;
    const pub = ssh2.utils.parseKey(key.blob);
    if (pub instanceof Error) throw pub;
    expect((Array.isArray(pub) ? pub[0]! : pub).verify(data, sig)).toBe(true);
  });

  it("is deterministic for a seed, and the seed reads back from the file", () => {
    const seed = randomSeed();
    const a = ed25519FromSeed(seed, "c");
    expect(ed25519FromSeed(seed, "c")).toEqual(a);
    expect(ed25519SeedOf(a.privateKey)?.equals(seed)).toBe(true);
    expect(ed25519FromSeed(randomSeed(), "c").publicKey).not.toBe(a.publicKey);
  });

  it("reads the seed back from a file ssh2's generator wrote with a stripped public key", () => {
    // What ssh2 wrote for such a key: every public key field without its leading zero byte.
    const seed = seedWithLeadingZero();
    const broken = encodeEd25519(seed, ed25519PublicOf(seed).subarray(1), "old").privateKey;
    expect(ssh2.utils.parseKey(broken)).toBeInstanceOf(Error);
    expect(ed25519SeedOf(broken)?.equals(seed)).toBe(true);
  });

  it("returns null for anything that is not an unencrypted OpenSSH Ed25519 key", () => {
    expect(ed25519SeedOf("")).toBeNull();
    expect(ed25519SeedOf("not a key")).toBeNull();
    expect(ed25519SeedOf(`-----BEGIN OPENSSH ${"PRIVATE"} KEY-----\nAAAA\n-----END OPENSSH ${"PRIVATE"} KEY-----\n`)).toBeNull();
  });
});
