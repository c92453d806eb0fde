// The control plane's key files: created readable, and a file earlier versions
// wrote broken (ssh2's generator, public half starting with 0x00) repaired at start.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import ssh2 from "ssh2";
import { afterAll, describe, expect, it } from "vitest";
import { loadOrCreateKeyFile } from "./key-file";
import { ed25519FromSeed, ed25519PublicOf, encodeEd25519, randomSeed } from "./openssh-key";

function seedWithLeadingZero(): Buffer {
  for (;;) {
    const seed = randomSeed();
    if (ed25519PublicOf(seed)[0] === 0) return seed;
  }
}

describe("loadOrCreateKeyFile", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "meshia-keyfile-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const warnings: unknown[] = [];
  const log = { warn: (...args: unknown[]) => void warnings.push(args) };

  it("creates a key (mode 600) and loads the same key on the next start", () => {
    const file = path.join(dir, "keys", "new_ed25519");
    const a = loadOrCreateKeyFile(file, "c", log);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateKeyFile(file, "c", log)).toEqual(a);
  });

  it("repairs a key whose public half starts with 0x00, keeping the same key", () => {
    const seed = seedWithLeadingZero();
    const file = path.join(dir, "broken_ed25519");
    writeFileSync(file, encodeEd25519(seed, ed25519PublicOf(seed).subarray(1), "c").privateKey, { mode: 0o600 });
    expect(ssh2.utils.parseKey(readFileSync(file, "utf8"))).toBeInstanceOf(Error);
    warnings.length = 0;
    const loaded = loadOrCreateKeyFile(file, "c", log);
    expect(loaded.publicKey).toBe(ed25519FromSeed(seed, "c").publicKey);
    expect(ssh2.utils.parseKey(readFileSync(file, "utf8"))).not.toBeInstanceOf(Error);
    expect(JSON.stringify(warnings)).toContain("repaired");
  });

  it("replaces a file that never held a usable key", () => {
    const file = path.join(dir, "garbage_ed25519");
    writeFileSync(file, "not a key\n", { mode: 0o600 });
    const loaded = loadOrCreateKeyFile(file, "c", log);
    expect(loaded.publicKey).toMatch(/^ssh-ed25519 /);
    expect(loadOrCreateKeyFile(file, "c", log).publicKey).toBe(loaded.publicKey);
  });
});
