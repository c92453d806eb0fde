// The OS account every sandboxed shell runs as: looked up in /etc/passwd, and
// created (as root) when missing: an unprivileged system user with bash, no
// password and no groups beyond its own. Shared with the browser tests' OpenSSH
// targets (e2e/support/sshd.ts), so both make the same `mesh`.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
  shell: string;
  home: string;
}

export function passwdEntry(name: string, file = "/etc/passwd"): OsUser | null {
  try {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const f = line.split(":");
      if (f[0] === name && f.length >= 7) return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || "/", shell: f[6] || "/bin/sh" };
    }
  } catch {
    // No /etc/passwd (an unusual container): nobody is known.
  }
  return null;
}

/** A login shell for the user: theirs unless it refuses logins, then bash. */
export function usableShell(shell: string | undefined): string {
  if (shell && !/nologin|false$/.test(shell)) return shell;
  return "/bin/bash";
}

function run(cmd: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stderr: String(stderr) });
    });
  });
}

/**
 * Makes sure `name` exists (root only). `useradd --system`: no aging, a uid below
 * the human range; `-p '*'`: no password works, yet the account is not locked
 * (sshd without PAM refuses locked accounts even for keys).
 */
export async function ensureSystemUser(name: string): Promise<OsUser> {
  let user = passwdEntry(name);
  if (!user) {
    const r = await run("useradd", ["--system", "--user-group", "--shell", "/bin/bash", "--home-dir", `/home/${name}`, "--no-create-home", "-p", "*", name]);
    // 9: made meanwhile by someone else (another server or test run on this machine).
    if (r.code !== 0 && r.code !== 9) throw new Error(`useradd ${name} failed (${r.code}): ${r.stderr.trim()}`);
    user = passwdEntry(name);
    if (!user) throw new Error(`useradd ${name} reported success but ${name} is not in /etc/passwd`);
  }
  if (user.uid === 0 || user.gid === 0) throw new Error(`the OS user ${name} has uid or gid 0; shells would run as root`);
  return user;
}
