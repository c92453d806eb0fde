// Where the embedded target's shells run: never as the control plane itself.
//
// - Root (a server, a CI machine): as the unprivileged OS user `mesh` (created when
//   missing), through `prlimit` then `setpriv` (util-linux, on every Debian): real,
//   effective and saved uid/gid of `mesh`, supplementary groups cleared, no
//   capabilities (bounding set emptied), no_new_privs (no setuid escalation), and
//   limits on processes and open files. Both exec the next program, so the process
//   we watch is the shell itself and its exit status and signal are exact. The data
//   directory is 0700 root, and /proc/<server>/{environ,mem,fd} and signals to the
//   server are refused by the kernel to another uid.
// - Not root (a laptop): a user+mount+pid namespace with bubblewrap when installed,
//   else util-linux `unshare`: the data directory is covered by an empty tmpfs,
//   /proc is the namespace's own (the server is not in it), and the volume is the
//   writable home.
// - Neither: unavailable, with the reason and the fix. Never the server's own user.
import { execFile } from "node:child_process";
import { accessSync, constants, existsSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { ensureSystemUser, usableShell, type OsUser } from "./os-user";

export const SANDBOX_USER = "mesh";
/** Per-user limits (RLIMIT_NPROC counts every process of the uid, on every session). */
export const LIMITS = { nproc: 1024, nofile: 4096 };

export type SandboxKind = "user" | "bubblewrap" | "unshare";

export interface Sandbox {
  kind: SandboxKind;
  /** Who the shell is, as USER/LOGNAME say. */
  userName: string;
  shell: string;
  /** Owner to give volumes (root mode), or null (the server's own user owns them). */
  volumeOwner: { uid: number; gid: number } | null;
  /** The command line that runs `argv` in the sandbox with `volume` as its writable home. */
  wrap(argv: string[], volume: string): { file: string; args: string[] };
}

export type SandboxState = { ok: true; sandbox: Sandbox } | { ok: false; reason: string; fix: string };

/** What detection needs from the machine; tests inject one to take the paths root cannot. */
export interface SandboxProbe {
  isRoot(): boolean;
  /** The uid and gid the server runs as (what a namespace sandbox maps shells back to). */
  identity(): { uid: number; gid: number };
  /** Absolute path of an executable on PATH (or the usual sbin dirs), or null. */
  which(bin: string): string | null;
  /** Whether `file args` exits 0 within a few seconds; the error output otherwise. */
  runs(file: string, args: string[]): Promise<{ ok: boolean; detail: string }>;
  ensureUser(name: string): Promise<OsUser>;
}

const SEARCH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

export const systemProbe: SandboxProbe = {
  isRoot: () => process.getuid?.() === 0,
  identity: () => ({ uid: process.getuid?.() ?? 1000, gid: process.getgid?.() ?? 1000 }),
  which(bin) {
    for (const dir of SEARCH) {
      const file = path.join(dir, bin);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
    return null;
  },
  runs: (file, args) =>
    new Promise((resolve) => {
      execFile(file, args, { timeout: 10_000, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } as unknown as NodeJS.ProcessEnv }, (err, _out, stderr) =>
        resolve({ ok: !err, detail: String(stderr).trim() || (err ? err.message : "") }),
      );
    }),
  ensureUser: ensureSystemUser,
};

function limitArgs(prlimit: string): string[] {
  return [prlimit, `--nproc=${LIMITS.nproc}`, `--nofile=${LIMITS.nofile}`, "--"];
}

/** The first ancestor of `dir` (or `dir`) that a user with no groups cannot traverse. */
export function unreachableAncestor(dir: string): string | null {
  let cur = path.resolve(dir);
  for (;;) {
    if (existsSync(cur) && (statSync(cur).mode & 0o001) === 0) return cur;
    const up = path.dirname(cur);
    if (up === cur) return null;
    cur = up;
  }
}

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

function rootSandbox(user: OsUser, prlimit: string, setpriv: string): Sandbox {
  return {
    kind: "user",
    userName: user.name,
    shell: usableShell(user.shell),
    volumeOwner: { uid: user.uid, gid: user.gid },
    wrap(argv) {
      const [file, ...rest] = limitArgs(prlimit);
      const drop = [setpriv, `--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"];
      return { file: file!, args: [...rest, ...drop, ...argv] };
    },
  };
}

function bubblewrapSandbox(bwrap: string, prlimit: string, dataDir: string, userName: string): Sandbox {
  const hidden = real(dataDir);
  return {
    kind: "bubblewrap",
    userName,
    shell: "/bin/bash",
    volumeOwner: null,
    wrap(argv, volume) {
      const vol = real(volume);
      return {
        file: bwrap,
        args: [
          "--unshare-user",
          "--unshare-pid",
          "--unshare-ipc",
          "--die-with-parent",
          "--ro-bind",
          "/",
          "/",
          "--dev-bind",
          "/dev",
          "/dev",
          "--proc",
          "/proc",
          "--tmpfs",
          "/tmp",
          "--tmpfs",
          hidden,
          "--bind",
          vol,
          vol,
          "--chdir",
          vol,
          "--",
          ...limitArgs(prlimit),
          ...argv,
        ],
      };
    },
  };
}

// The outer namespace maps us to root so that it may mount; the inner one maps back
// to our own uid, so the shell has no capabilities even inside the namespace.
const UNSHARE_SCRIPT = 'd=$1; u=$2; g=$3; shift 3; mount -t tmpfs -o mode=0700 tmpfs "$d" && exec unshare --user --map-user="$u" --map-group="$g" -- "$@"';

function unshareSandbox(unshare: string, prlimit: string, dataDir: string, userName: string, ids: { uid: number; gid: number }): Sandbox {
  const hidden = real(dataDir);
  const uid = String(ids.uid);
  const gid = String(ids.gid);
  return {
    kind: "unshare",
    userName,
    shell: "/bin/bash",
    volumeOwner: null,
    wrap(argv) {
      return {
        file: unshare,
        args: [
          "--user",
          "--map-root-user",
          "--mount",
          "--pid",
          "--fork",
          "--kill-child",
          "--mount-proc",
          "--",
          "/bin/sh",
          "-c",
          UNSHARE_SCRIPT,
          "meshia-sandbox",
          hidden,
          uid,
          gid,
          ...limitArgs(prlimit),
          ...argv,
        ],
      };
    },
  };
}

const NOT_ROOT_FIX = "Run the server as root (shells then run as the unprivileged user mesh), or install bubblewrap (apt-get install bubblewrap).";

/**
 * Decides how shells are sandboxed, and proves it by running `true` that way once.
 * `volumesDir` must exist (it is where the probe runs).
 */
export async function detectSandbox(opts: { dataDir: string; volumesDir: string; probe?: SandboxProbe }): Promise<SandboxState> {
  const probe = opts.probe ?? systemProbe;
  const prlimit = probe.which("prlimit");
  const trueBin = probe.which("true") ?? "/bin/true";
  if (probe.isRoot()) {
    const setpriv = probe.which("setpriv");
    if (!setpriv || !prlimit) {
      return {
        ok: false,
        reason: "setpriv and prlimit (util-linux) are missing, so shells cannot drop to the user mesh.",
        fix: "Install util-linux (apt-get install util-linux).",
      };
    }
    let user: OsUser;
    try {
      user = await probe.ensureUser(SANDBOX_USER);
    } catch (err) {
      return {
        ok: false,
        reason: `The OS user ${SANDBOX_USER} could not be made ready: ${(err as Error).message}`,
        fix: `Create it: useradd --system --user-group --shell /bin/bash ${SANDBOX_USER}`,
      };
    }
    const blocked = unreachableAncestor(opts.volumesDir);
    if (blocked) {
      return {
        ok: false,
        reason: `The volumes directory ${opts.volumesDir} is not reachable by ${SANDBOX_USER}: ${blocked} lets only its owner in.`,
        fix: "Set MESHIA_VOLUMES_DIR to a directory whose parents others may traverse (the default, /var/lib/meshia-volumes, is).",
      };
    }
    const sandbox = rootSandbox(user, prlimit, setpriv);
    const w = sandbox.wrap([trueBin], opts.volumesDir);
    const r = await probe.runs(w.file, w.args);
    if (!r.ok)
      return {
        ok: false,
        reason: `Dropping to the user ${SANDBOX_USER} failed: ${r.detail}`,
        fix: "Check that setpriv and prlimit (util-linux) work on this machine.",
      };
    return { ok: true, sandbox };
  }

  const me = process.env.USER || "user";
  if (!prlimit) return { ok: false, reason: "prlimit (util-linux) is missing.", fix: NOT_ROOT_FIX };
  const failures: string[] = [];
  const bwrap = probe.which("bwrap");
  if (bwrap) {
    const sandbox = bubblewrapSandbox(bwrap, prlimit, opts.dataDir, me);
    const w = sandbox.wrap([trueBin], opts.volumesDir);
    const r = await probe.runs(w.file, w.args);
    if (r.ok) return { ok: true, sandbox };
    failures.push(`bubblewrap failed: ${r.detail}`);
  } else failures.push("bubblewrap is not installed");
  const unshare = probe.which("unshare");
  if (unshare) {
    const sandbox = unshareSandbox(unshare, prlimit, opts.dataDir, me, probe.identity());
    const w = sandbox.wrap([trueBin], opts.volumesDir);
    const r = await probe.runs(w.file, w.args);
    if (r.ok) return { ok: true, sandbox };
    failures.push(`unshare could not make a user namespace: ${r.detail}`);
  } else failures.push("unshare is not installed");
  return { ok: false, reason: `Shells cannot be sandboxed: the server does not run as root, ${failures.join("; ")}.`, fix: NOT_ROOT_FIX };
}
