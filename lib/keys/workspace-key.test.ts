import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fingerprintOf, keyIdentity, parsePublicKeyLine } from "./fingerprint";
import { generateWorkspaceKey, PKCS1_BEGIN, PKCS1_END } from "./workspace-key";

function sshKeygen(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile("ssh-keygen", args, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)));
    if (input !== undefined) child.stdin!.end(input);
  });
}

describe("workspace key generation", async () => {
  const key = await generateWorkspaceKey("meshia-test");
  const dir = mkdtempSync(path.join(os.tmpdir(), "meshia-keytest-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes PKCS#1 RSA PEM with LF line ends and one final newline", () => {
    expect(key.pem.startsWith(PKCS1_BEGIN + "\n")).toBe(true);
    expect(key.pem.endsWith(PKCS1_END + "\n")).toBe(true);
    expect(key.pem).not.toContain("\r");
    expect(key.pem.endsWith("\n\n")).toBe(false);
    expect(key.algorithm).toBe("RSA-3072");
  });

  it("has the fingerprint ssh-keygen -lf prints", async () => {
    const out = await sshKeygen(["-lf", "-"], key.publicKey + "\n");
    // "3072 SHA256:… comment (RSA)"
    const [bits, fp] = out.trim().split(" ");
    expect(bits).toBe("3072");
    expect(fp).toBe(key.fingerprint);
    expect(fingerprintOf(key.publicKey)).toBe(key.fingerprint);
  });

  it("loads with ssh-keygen -y, whose public key is the saved line", async () => {
    // A test-time key in a private temp file: ssh-keygen needs a file path.
    const file = path.join(dir, "meshia_key.pem");
    writeFileSync(file, key.pem, { mode: 0o600 });
    const derived = (await sshKeygen(["-y", "-f", file])).trim();
    expect(keyIdentity(derived)).toBe(keyIdentity(key.publicKey));
  });

  it("generates a different key every time, off the event loop", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const other = await generateWorkspaceKey("meshia-test");
    clearInterval(timer);
    expect(other.fingerprint).not.toBe(key.fingerprint);
    // Native generation runs in the thread pool: the loop kept turning meanwhile.
    expect(ticks).toBeGreaterThan(0);
  });
});

describe("public key lines", () => {
  it("rejects lines whose blob does not start with their type", () => {
    const ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    expect(parsePublicKeyLine(ed)).not.toBeNull();
    expect(parsePublicKeyLine(ed.replace("ssh-ed25519", "ssh-rsa"))).toBeNull();
    expect(parsePublicKeyLine("ssh-rsa not-base64!")).toBeNull();
    expect(parsePublicKeyLine("")).toBeNull();
  });
});
