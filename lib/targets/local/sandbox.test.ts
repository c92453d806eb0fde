// Sandbox detection: every path, the ones root cannot take forced through an
// injected probe, and bubblewrap and unshare really run as an unprivileged user
// (through setpriv) to show what a shell inside them can and cannot see.
import { execFile } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { detectSandbox, systemProbe, unreachableAncestor, type Sandbox, type SandboxProbe } from "./sandbox";

const isRoot = process.getuid?.() === 0;
const dir = mkdtempSync(path.join(os.tmpdir(), "meshia-sandbox-"));
chmodSync(dir, 0o711);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function probe(over: Partial<SandboxProbe>): SandboxProbe {
  return { ...systemProbe, ...over };
}

describe("detectSandbox, forced paths", () => {
  const dataDir = path.join(dir, "forced-data");
  const volumesDir = path.join(dir, "forced-volumes");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(volumesDir, { recursive: true, mode: 0o711 });

  it("not root, no bubblewrap, no user namespaces: unavailable, with the reason and the fix", async () => {
    const state = await detectSandbox({
      dataDir,
      volumesDir,
      probe: probe({
        isRoot: () => false,
        which: (b) => (b === "bwrap" ? null : systemProbe.which(b)),
        runs: async () => ({ ok: false, detail: "unshare: unshare failed: Operation not permitted" }),
      }),
    });
    expect(state.ok).toBe(false);
    if (state.ok) return;
    expect(state.reason).toContain("does not run as root");
    expect(state.reason).toContain("bubblewrap is not installed");
    expect(state.reason).toContain("Operation not permitted");
    expect(state.fix).toMatch(/Run the server as root.*install bubblewrap/);
  });

  it("not root: bubblewrap first, unshare when bubblewrap fails", async () => {
    const runs: string[] = [];
    const state = await detectSandbox({
      dataDir,
      volumesDir,
      probe: probe({
        isRoot: () => false,
        which: (b) => (b === "bwrap" ? "/usr/bin/bwrap" : systemProbe.which(b)),
        runs: async (file) => {
          runs.push(path.basename(file));
          return { ok: path.basename(file) === "unshare", detail: "no" };
        },
      }),
    });
    expect(runs).toEqual(["bwrap", "unshare"]);
    expect(state.ok && state.sandbox.kind).toBe("unshare");
  });

  it("root without setpriv: unavailable, says to install util-linux", async () => {
    const state = await detectSandbox({
      dataDir,
      volumesDir,
      probe: probe({ isRoot: () => true, which: (b) => (b === "setpriv" ? null : systemProbe.which(b)) }),
    });
    expect(state.ok).toBe(false);
    if (!state.ok) expect(state.fix).toContain("util-linux");
  });

  it.skipIf(!isRoot)("root with the volumes under a 0700 parent: unavailable, names the directory and MESHIA_VOLUMES_DIR", async () => {
    const closed = path.join(dir, "closed");
    mkdirSync(path.join(closed, "volumes"), { recursive: true });
    chmodSync(closed, 0o700);
    expect(unreachableAncestor(path.join(closed, "volumes"))).toBe(closed);
    const state = await detectSandbox({ dataDir, volumesDir: path.join(closed, "volumes") });
    expect(state.ok).toBe(false);
    if (!state.ok) {
      expect(state.reason).toContain(closed);
      expect(state.fix).toContain("MESHIA_VOLUMES_DIR");
    }
  });

  it.skipIf(!isRoot)("root: the user mesh, proven by running true as it", async () => {
    const state = await detectSandbox({ dataDir, volumesDir });
    expect(state.ok && state.sandbox.kind).toBe("user");
    expect(state.ok && state.sandbox.userName).toBe("mesh");
  });
});

// nobody:nogroup stands in for a developer running the server without root.
const NOBODY = { uid: 65534, gid: 65534 };
const asNobody = (file: string, args: string[]) =>
  ["setpriv", [`--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, "--clear-groups", "--", file, ...args]] as const;

function runAsNobody(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, argv] = asNobody(file, args);
  return new Promise((resolve) => {
    execFile(cmd, [...argv], { timeout: 20_000, cwd: "/" }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

describe.skipIf(!isRoot)("namespace sandboxes, run for real by an unprivileged user", () => {
  const dataDir = path.join(dir, "dev-data");
  const volume = path.join(dir, "dev-volumes", "ws");
  mkdirSync(path.join(dataDir, "keys"), { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dataDir, "keys", "auth_secret"), "dev-secret\n", { mode: 0o600 });
  mkdirSync(volume, { recursive: true, mode: 0o700 });
  for (const p of [dataDir, path.join(dataDir, "keys"), path.join(dataDir, "keys", "auth_secret"), path.dirname(volume), volume])
    chownSync(p, NOBODY.uid, NOBODY.gid);
  const nobodyProbe = (allowBwrap: boolean) =>
    probe({
      isRoot: () => false,
      identity: () => NOBODY,
      which: (b) => (b === "bwrap" && !allowBwrap ? null : systemProbe.which(b)),
      runs: async (file, args) => {
        const r = await runAsNobody(file, args);
        return { ok: r.code === 0, detail: r.stderr };
      },
    });

  // Without a sandbox, nobody reads its own data directory: the sandbox must be what hides it.
  it("(control: outside a sandbox, the data directory is readable by its owner)", async () => {
    expect((await runAsNobody("cat", [path.join(dataDir, "keys", "auth_secret")])).stdout).toBe("dev-secret\n");
  });

  for (const kind of ["bubblewrap", "unshare"] as const) {
    const installed = kind === "unshare" || systemProbe.which("bwrap") !== null;
    it.skipIf(!installed)(`${kind}: the data directory and the server's /proc are not visible; the volume is the writable home`, async () => {
      const state = await detectSandbox({ dataDir, volumesDir: path.dirname(volume), probe: nobodyProbe(kind === "bubblewrap") });
      expect(state.ok, state.ok ? "" : state.reason).toBe(true);
      const sandbox = (state as { sandbox: Sandbox }).sandbox;
      expect(sandbox.kind).toBe(kind);
      const script = [
        `ls -A ${dataDir} | wc -l`,
        `cat ${dataDir}/keys/auth_secret 2>/dev/null || echo no-secret`,
        `test -e /proc/${process.pid} && echo server-visible || echo server-hidden`,
        `kill -0 ${process.pid} 2>/dev/null && echo signal-reached || echo signal-refused`,
        `echo written > ${volume}/probe && cat ${volume}/probe`,
        "id -u",
      ].join("; ");
      const w = sandbox.wrap(["/bin/sh", "-c", script], volume);
      const r = await runAsNobody(w.file, w.args);
      expect(r.stderr).toBe("");
      expect(r.stdout.trim().split("\n")).toEqual(["0", "no-secret", "server-hidden", "signal-refused", "written", String(NOBODY.uid)]);
    });
  }
});
