// Shared helpers for the browser tests: the workspace, reading the terminal
// buffer through the page's test hook, and running the real OpenSSH client.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { test as base, expect, type Page } from "@playwright/test";
import { cspViolations, flushRecordings, installRecorder } from "./record";
import { SshdHarness } from "./sshd";

export interface Workspace {
  id: string;
  name: string;
}

export const test = base.extend<{ workspace: Workspace; keyDir: string; _afterEach: void }, { sshd: SshdHarness; _recorder: void }>({
  // Every response any context receives is recorded for e2e/secret-scan.ts.
  _recorder: [
    async ({ playwright, browser }, use) => {
      const undo = installRecorder(playwright, browser);
      await use();
      undo();
    },
    { scope: "worker", auto: true },
  ],
  // After each test: every response written, and the app ran under its CSP without
  // the browser refusing anything (scripts, styles, the terminal's socket, workers).
  _afterEach: [
    async ({}, use) => {
      cspViolations.length = 0;
      await use();
      await flushRecordings();
      expect(cspViolations, "Content-Security-Policy violations in the browser").toEqual([]);
    },
    { auto: true },
  ],
  workspace: async ({ request }, use) => {
    const res = await request.get("/api/workspaces");
    expect(res.ok()).toBeTruthy();
    const { workspaces } = (await res.json()) as { workspaces: Workspace[] };
    expect(workspaces.length).toBeGreaterThan(0);
    await use(workspaces[0]!);
  },
  // A private directory for key files the test itself downloaded; removed afterwards.
  keyDir: async ({}, use) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "meshia-e2e-keys-"));
    await use(dir);
    rmSync(dir, { recursive: true, force: true });
  },
  // Real OpenSSH targets (needs root; specs skip with sshdUnavailable()'s reason
  // first). Worker-scoped: see e2e/support/sshd.ts for why not globalSetup.
  sshd: [
    async ({}, use) => {
      const harness = await SshdHarness.create(`${process.env.E2E_DATA_DIR ?? path.resolve(".tmp/e2e-data")}-sshd`);
      try {
        await use(harness);
      } finally {
        await harness.dispose();
      }
    },
    { scope: "worker", timeout: 60_000 },
  ],
});
export { expect };

/** All lines of a terminal's buffer (scrollback included), trailing blanks trimmed. */
export async function terminalText(page: Page, tab?: string): Promise<string> {
  return page.evaluate((tabId) => {
    const terms = window.__meshiaTest?.terminals ?? {};
    const entry = tabId
      ? terms[tabId]
      : (Object.entries(terms).find(([id]) => !document.querySelector(`[data-tab="${id}"]`)?.hasAttribute("hidden"))?.[1] ?? Object.values(terms)[0]);
    if (!entry) return "";
    const buf = entry.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? "");
    return lines.join("\n").replace(/\s+$/, "");
  }, tab);
}

export async function waitForTerminal(page: Page, pattern: RegExp, opts: { tab?: string; timeout?: number } = {}): Promise<string> {
  let last = "";
  await expect
    .poll(
      async () => {
        last = await terminalText(page, opts.tab);
        return pattern.test(last);
      },
      { timeout: opts.timeout ?? 15_000, message: `terminal never matched ${pattern}` },
    )
    .toBe(true);
  return last;
}

/** Waits for the active terminal to be live (shell open). */
export async function waitLive(page: Page): Promise<void> {
  await expect(page.locator('.terminal-view:not([hidden]) [data-testid="terminal-status"]')).toHaveAttribute("data-state", "live", { timeout: 20_000 });
}

/** Writes a PEM the test received to a 0600 file in `dir` (test-time key material only). */
export function writeKeyFile(dir: string, pem: string, name = "meshia_key.pem"): string {
  const file = path.join(dir, name);
  writeFileSync(file, pem, { mode: 0o600 });
  return file;
}

export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

// IdentitiesOnly: only the key under test is offered, never ~/.ssh/id_* of whoever runs the tests.
const SSH_OPTS = ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"];

/**
 * Runs the real OpenSSH client: `ssh -i key -p port mesh@host command`. With
 * `knownHosts` (a known_hosts file) the host key is checked strictly against it.
 */
function hostKeyOpts(knownHosts?: string): string[] {
  return knownHosts
    ? ["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`]
    : ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"];
}

export function ssh(args: {
  key: string;
  host: string;
  port: number;
  command: string;
  extra?: string[];
  user?: string;
  knownHosts?: string;
}): Promise<SshResult> {
  const hostKeys = hostKeyOpts(args.knownHosts);
  return new Promise((resolve) => {
    execFile(
      "ssh",
      [...SSH_OPTS, ...hostKeys, ...(args.extra ?? []), "-i", args.key, "-p", String(args.port), `${args.user ?? "mesh"}@${args.host}`, args.command],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === "number" ? (err as unknown as { code: number }).code : 255) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Parses `-p PORT USER@HOST` and the key path out of the dialog's command. */
export function parseSshCommand(command: string): { port: number; user: string; host: string } {
  const m = /ssh -i \S+ -p (\d+) ([a-z_][a-z0-9_-]*)@(\S+)$/.exec(command);
  if (!m) throw new Error(`not the expected ssh command: ${command}`);
  return { port: Number(m[1]), user: m[2]!, host: m[3]! };
}

/**
 * Starts the real OpenSSH client in the background (e.g. `-N -L …` port forwarding);
 * the caller kills it. Same options as `ssh()`.
 */
export function sshSpawn(args: {
  key: string;
  host: string;
  port: number;
  extra?: string[];
  command?: string;
  user?: string;
  knownHosts?: string;
}): ChildProcess {
  const argv = [
    ...SSH_OPTS,
    ...hostKeyOpts(args.knownHosts),
    ...(args.extra ?? []),
    "-i",
    args.key,
    "-p",
    String(args.port),
    `${args.user ?? "mesh"}@${args.host}`,
  ];
  if (args.command !== undefined) argv.push(args.command);
  return spawn("ssh", argv, { stdio: ["ignore", "pipe", "pipe"] });
}

/** A TCP port nothing listens on at `host` right now (the kernel's pick). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, host, () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}
