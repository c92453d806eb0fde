// For tests of the embedded target: a real sandbox (whatever this machine allows)
// with a data directory and a volume under `dir`, laid out as the server does.
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync } from "node:fs";
import path from "node:path";
import pino from "pino";
import { detectSandbox, type Sandbox } from "./sandbox";
import { prepareVolume } from "./volumes";

export async function sandboxForTests(dir: string): Promise<{ sandbox: Sandbox; dataDir: string; volumesDir: string; volume: string }> {
  chmodSync(dir, 0o711); // mkdtemp makes 0700; `mesh` must reach the volumes inside
  const dataDir = path.join(dir, "data");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const volumesDir = path.join(dir, "volumes");
  mkdirSync(volumesDir, { recursive: true, mode: 0o711 });
  const found = await detectSandbox({ dataDir, volumesDir });
  if (!found.ok) throw new Error(`no sandbox on this machine: ${found.reason} ${found.fix}`);
  const volume = prepareVolume({ dataDir, volumesDir, workspaceId: "ws-test", owner: found.sandbox.volumeOwner, log: pino({ level: "silent" }) });
  return { sandbox: found.sandbox, dataDir, volumesDir, volume };
}

/** What a run of the OpenSSH client gave. */
export interface SshRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real OpenSSH client as `user` (mesh) on 127.0.0.1:`port` with `keyFile`, no host-key checks: a test's login. */
/** What every test login with the OpenSSH client passes: no prompts, no host key checks against a fresh test server. */
export const SSH_TEST_OPTIONS = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"];

export function ssh(keyFile: string, port: number, args: string[], opts: { user?: string; timeout?: number } = {}): Promise<SshRun> {
  return new Promise((resolve) => {
    execFile(
      "ssh",
      [...SSH_TEST_OPTIONS, "-o", "LogLevel=ERROR", "-i", keyFile, "-p", String(port), `${opts.user ?? "mesh"}@127.0.0.1`, ...args],
      { timeout: opts.timeout ?? 20_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 255) : 0, stdout, stderr }),
    );
  });
}
