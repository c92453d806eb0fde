// The embedded target against the real OpenSSH client.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOrCreateKeyFile } from "@/lib/keys/key-file";
import { parsePublicKeyLine } from "@/lib/keys/fingerprint";
import { generateWorkspaceKey, type GeneratedKey } from "@/lib/keys/workspace-key";
import { fingerprintOf } from "@/lib/keys/fingerprint";
import { LocalTarget, type LoginAttempt } from "./server";
import { sandboxForTests, ssh, SSH_TEST_OPTIONS } from "./testing";

const dir = mkdtempSync(path.join(os.tmpdir(), "meshia-local-target-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keyFile(name: string, key: GeneratedKey): string {
  const file = path.join(dir, name);
  writeFileSync(file, key.pem, { mode: 0o600 });
  return file;
}

describe("embedded local target", () => {
  let target: LocalTarget;
  let volume: string;
  let keyA: GeneratedKey;
  let keyB: GeneratedKey;
  let fileA: string;
  let fileB: string;
  // What the lookup answers; tests change it to model regenerate/revoke.
  let allowed: { blob: Buffer; options: string | null; purpose?: "workspace" | "bridge" }[] = [];
  let lookupFails = false;
  const logins: LoginAttempt[] = [];

  beforeAll(async () => {
    [keyA, keyB] = await Promise.all([generateWorkspaceKey("a"), generateWorkspaceKey("b")]);
    fileA = keyFile("a.pem", keyA);
    fileB = keyFile("b.pem", keyB);
    allowed = [{ blob: parsePublicKeyLine(keyA.publicKey)!.blob, options: null }];
    process.env.MESHIA_TEST_SENTINEL = "do-not-leak-into-shells";
    const { sandbox, volume: vol } = await sandboxForTests(dir);
    volume = vol;
    target = new LocalTarget({
      listenHost: "127.0.0.1",
      ports: { from: 24500, to: 24999 },
      hostKey: loadOrCreateKeyFile(path.join(dir, "host_ed25519"), "test-host"),
      volume,
      sandbox,
      log: pino({ level: "silent" }),
      onLogin: (a) => logins.push(a),
      allowedKeys: async (user) => {
        if (lookupFails) throw new Error("database down");
        return user === "mesh" ? allowed : [];
      },
    });
    await target.start();
  });
  afterAll(() => target?.stop());

  it("runs commands with their exit status, stdout and stderr", async () => {
    const r = await ssh(fileA, target.port, ["echo out; echo err >&2; exit 7"]);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe("out\n");
    expect(r.stderr).toContain("err");
  });

  it("starts shells in the workspace volume, which is also HOME, with a clean environment", async () => {
    const r = await ssh(fileA, target.port, ['pwd; echo "$HOME"; env']);
    const [pwd, home, ...env] = r.stdout.trim().split("\n");
    expect(pwd).toBe(volume);
    expect(home).toBe(pwd);
    expect(env.join("\n")).not.toContain("do-not-leak-into-shells");
    expect(env.join("\n")).not.toContain("DATABASE_URL");
  });

  it("gives a PTY when asked, with the requested terminal type", async () => {
    const r = await ssh(fileA, target.port, ["-tt", "-o", "SetEnv=TERM=xterm-256color", "tty; echo $TERM; exit 3"]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+/);
  });

  it("refuses passwords, keyboard-interactive, other users and unknown keys", async () => {
    const pw = await ssh(fileA, target.port, ["-o", "PreferredAuthentications=password,keyboard-interactive", "true"]);
    expect(pw.code).toBe(255);
    expect(pw.stderr).toContain("Permission denied");
    const root = await ssh(fileA, target.port, ["true"], { user: "root" });
    expect(root.code).toBe(255);
    const other = await ssh(fileB, target.port, ["true"]);
    expect(other.code).toBe(255);
    expect(other.stderr).toContain("Permission denied (publickey)");
  });

  it("asks at every login: a new key works at once and the old one is refused at once", async () => {
    expect((await ssh(fileA, target.port, ["echo ok"])).stdout).toBe("ok\n");
    allowed = [{ blob: parsePublicKeyLine(keyB.publicKey)!.blob, options: null }];
    expect((await ssh(fileA, target.port, ["echo ok"])).code).toBe(255);
    expect((await ssh(fileB, target.port, ["echo ok"])).stdout).toBe("ok\n");
    allowed = [{ blob: parsePublicKeyLine(keyA.publicKey)!.blob, options: null }];
  });

  it("fails closed when the lookup fails", async () => {
    lookupFails = true;
    try {
      expect((await ssh(fileA, target.port, ["echo ok"])).code).toBe(255);
    } finally {
      lookupFails = false;
    }
  });

  it("reports every connection's login once: source, user, the key's fingerprint and the result; not the bridge's own", async () => {
    const reported = async (run: () => Promise<unknown>): Promise<LoginAttempt[]> => {
      logins.length = 0;
      await run();
      await new Promise((r) => setTimeout(r, 300)); // the close that reports a refusal may trail ssh's exit
      return [...logins];
    };
    expect(await reported(() => ssh(fileA, target.port, ["true"]))).toEqual([
      { source: "127.0.0.1", user: "mesh", fingerprint: fingerprintOf(keyA.publicKey), result: "accepted" },
    ]);
    expect(await reported(() => ssh(fileB, target.port, ["true"]))).toEqual([
      { source: "127.0.0.1", user: "mesh", fingerprint: fingerprintOf(keyB.publicKey), result: "refused" },
    ]);
    expect(await reported(() => ssh(fileA, target.port, ["true"], { user: "root" }))).toEqual([
      { source: "127.0.0.1", user: "root", fingerprint: fingerprintOf(keyA.publicKey), result: "refused" },
    ]);
    const pw = await reported(() => ssh(fileA, target.port, ["-o", "PreferredAuthentications=password,keyboard-interactive", "true"]));
    expect(pw).toEqual([{ source: "127.0.0.1", user: "mesh", fingerprint: null, result: "refused" }]);
    lookupFails = true;
    try {
      expect(await reported(() => ssh(fileA, target.port, ["true"]))).toEqual([
        { source: "127.0.0.1", user: "mesh", fingerprint: fingerprintOf(keyA.publicKey), result: "lookup-failed" },
      ]);
    } finally {
      lookupFails = false;
    }
    // The control plane's own credential for this target: its sessions are audited as terminal sessions.
    const saved = allowed;
    allowed = [{ blob: parsePublicKeyLine(keyA.publicKey)!.blob, options: null, purpose: "bridge" }];
    try {
      expect(await reported(() => ssh(fileA, target.port, ["true"]))).toEqual([]);
    } finally {
      allowed = saved;
    }
  });

  it("forwards local ports to its own loopback, and not for keys marked no-port-forwarding", async () => {
    const echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
    const echoPort = (echo.address() as net.AddressInfo).port;
    const localPort = 24000 + Math.floor(Math.random() * 400);
    const roundTrip = async (until: () => boolean = () => false): Promise<string> => {
      for (let i = 0; i < 50 && !until(); i++) {
        const got = await new Promise<string | null>((resolve) => {
          const s = net.connect(localPort, "127.0.0.1", () => s.write("ping"));
          s.on("data", (d) => {
            resolve(d.toString());
            s.destroy();
          });
          s.on("error", () => resolve(null));
          s.on("close", () => resolve(null));
        });
        if (got !== null) return got;
        await new Promise((r) => setTimeout(r, 100));
      }
      return "";
    };
    const forward = () =>
      spawn("ssh", [
        "-N",
        ...SSH_TEST_OPTIONS,
        "-o",
        "ExitOnForwardFailure=yes",
        "-i",
        fileA,
        "-p",
        String(target.port),
        "-L",
        `${localPort}:127.0.0.1:${echoPort}`,
        "mesh@127.0.0.1",
      ]);
    let child = forward();
    try {
      expect(await roundTrip()).toBe("ping");
    } finally {
      child.kill();
    }
    await new Promise((r) => child.once("exit", r));
    allowed = [{ blob: parsePublicKeyLine(keyA.publicKey)!.blob, options: "no-port-forwarding" }];
    child = forward();
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      // The target refuses the channel; ssh says so for each connection it forwards.
      expect(await roundTrip(() => stderr.includes("open failed"))).toBe("");
      // (ssh2's Server gives no way to pick the refusal reason; ssh reports "open failed".)
      expect(stderr).toMatch(/channel \d+: open failed/);
    } finally {
      child.kill();
      allowed = [{ blob: parsePublicKeyLine(keyA.publicKey)!.blob, options: null }];
      echo.close();
    }
  });

  it("ends every session when it stops", async () => {
    const long = ssh(fileA, target.port, ["sleep 30"], { timeout: 40_000 });
    await new Promise((r) => setTimeout(r, 1500));
    const started = Date.now();
    await target.stop();
    const r = await long;
    expect(r.code).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
