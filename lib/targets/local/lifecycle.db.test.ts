// The embedded target's lifecycle against real databases: stop ends connections
// with "compute stopped"; start gives a new port and boot id, the same host key and
// the same volume; a data directory under a 0700 parent; the unavailable state; the
// same host key on every instance (derived), or the key file an earlier version left.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "@/db/testing";
import { saveKey } from "@/lib/keys/store";
import { fingerprintOf } from "@/lib/keys/fingerprint";
import { generateEd25519 } from "@/lib/keys/openssh-key";
import { generateWorkspaceKey } from "@/lib/keys/workspace-key";
import { ensureDefaultWorkspace } from "@/lib/workspaces/workspaces";
import { registerTarget, findTarget, targetView } from "../registry";
import { LEGACY_HOST_KEY_FILE, LocalCompute } from "./lifecycle";
import { systemProbe } from "./sandbox";
import { ssh } from "./testing";
import { legacyVolumeDir, volumeDir } from "./volumes";

const WINDOW = 60_000;
const root = mkdtempSync(path.join(os.tmpdir(), "meshia-lifecycle-"));
chmodSync(root, 0o711);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(testDatabases())("embedded target lifecycle on $name", (tdb) => {
  let handle: Awaited<ReturnType<typeof tdb.open>>;
  let keyFile: string;
  let workspaceId: string;
  let base: string;
  // As with a checkout under /root: the data directory's parent lets nobody else in.
  let dataDir: string;
  let volumesDir: string;
  const logged: { msg: string; reason?: string }[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => void logged.push(JSON.parse(line) as { msg: string }) });

  beforeAll(async () => {
    handle = await tdb.open();
    workspaceId = (await ensureDefaultWorkspace(handle.db)).id;
    const { pem, ...key } = await generateWorkspaceKey("lifecycle");
    await saveKey(handle.db, workspaceId, key, null);
    base = mkdtempSync(path.join(root, `${tdb.name}-`));
    chmodSync(base, 0o711);
    keyFile = path.join(base, "key.pem");
    writeFileSync(keyFile, pem, { mode: 0o600 });
    const privateParent = path.join(base, "private-parent");
    mkdirSync(privateParent, { mode: 0o700 });
    dataDir = path.join(privateParent, "data");
    mkdirSync(dataDir, { mode: 0o700 });
    volumesDir = path.join(base, "volumes");
  });
  afterAll(async () => handle?.dispose());

  function compute(rowId: string, over: Partial<ConstructorParameters<typeof LocalCompute>[0]> = {}) {
    return findTarget(handle.db, rowId).then(
      (row) =>
        new LocalCompute({
          db: handle.db,
          row: row!,
          log,
          dataDir,
          volumesDir,
          listenHost: "127.0.0.1",
          publicHost: "127.0.0.1",
          ports: { from: 26500, to: 26599 },
          liveWindowMs: WINDOW,
          ...over,
        }),
    );
  }

  it("stops (connections end with 'compute stopped') and starts with a new port and boot id, the same host key and volume", async () => {
    // A volume left where older versions kept it moves out of the data directory.
    const legacy = legacyVolumeDir(dataDir, workspaceId);
    mkdirSync(legacy, { recursive: true });
    writeFileSync(path.join(legacy, "old-file"), "from before\n");
    const { target: row } = await registerTarget(handle.db, { workspaceId, name: "local", kind: "local", host: "127.0.0.1" });
    const stopped: string[] = [];
    const local = await compute(row.id, { onStop: (id) => stopped.push(id) });
    expect(await local.start()).toBe("running");
    const first = (await findTarget(handle.db, row.id))!;
    expect(first.status).toBe("live");
    const volume = volumeDir(volumesDir, workspaceId);
    expect(statSync(volume).mode & 0o777).toBe(0o700);
    if (process.getuid?.() === 0) expect(statSync(volume).uid).not.toBe(0);

    const shell = await ssh(keyFile, first.port!, ["cat old-file; echo kept > kept-file; bash -lc 'echo login-ok' 2>&1"]);
    expect(shell.stdout).toBe("from before\nlogin-ok\n");
    expect(shell.stderr).not.toContain("Permission denied");

    const long = ssh(keyFile, first.port!, ["sleep 30"], { timeout: 40_000 });
    await new Promise((r) => setTimeout(r, 1000));
    expect(await local.stop("someone")).toBe("stopped");
    const ended = await long;
    expect(ended.code).not.toBe(0);
    expect(ended.stderr).toContain("compute stopped");
    expect(stopped).toEqual([row.id]);
    expect((await findTarget(handle.db, row.id))!.status).toBe("stopped");
    expect((await ssh(keyFile, first.port!, ["true"])).code).toBe(255);

    expect(await local.start()).toBe("running");
    const second = (await findTarget(handle.db, row.id))!;
    expect(second.status).toBe("live");
    expect(second.port).not.toBe(first.port);
    expect(second.bootId).not.toBe(first.bootId);
    expect(second.hostKeyFingerprint).toBe(first.hostKeyFingerprint);
    expect(targetView(second, WINDOW).sshCommand).toContain(`-p ${second.port} `);
    expect((await ssh(keyFile, second.port!, ["cat kept-file"])).stdout).toBe("kept\n");
    await local.stop();
  });

  it("without a sandbox it starts no shells: status unavailable with the reason and the fix, logged once", async () => {
    const { target: row } = await registerTarget(handle.db, { workspaceId, name: "local-2", kind: "local", host: "127.0.0.1" });
    const local = await compute(row.id, {
      probe: {
        ...systemProbe,
        isRoot: () => false,
        which: (b) => (b === "bwrap" ? null : systemProbe.which(b)),
        runs: async () => ({ ok: false, detail: "Operation not permitted" }),
      },
    });
    logged.length = 0;
    expect(await local.start()).toBe("unavailable");
    expect(await local.start()).toBe("unavailable");
    const view = targetView((await findTarget(handle.db, row.id))!, WINDOW);
    expect(view.status).toBe("unavailable");
    expect(view.port).toBeNull();
    expect(view.sshCommand).toBeNull();
    expect(view.unavailable?.reason).toContain("bubblewrap");
    expect(view.unavailable?.fix).toContain("Run the server as root");
    expect(logged.filter((l) => l.msg.includes("starts no shells"))).toHaveLength(1);
    expect(local.target).toBeNull();
  });

  it("presents the same host key on every instance (derived: no private key on disk); a key file from an earlier version is kept", async () => {
    const { target: row } = await registerTarget(handle.db, { workspaceId, name: "local-3", kind: "local", host: "127.0.0.1" });
    /** What the running server presents, as ssh-keyscan sees it (asynchronously: the server runs in this process). */
    const presented = async (port: number) => {
      const { stdout } = await promisify(execFile)("ssh-keyscan", ["-t", "ed25519", "-p", String(port), "127.0.0.1"], { encoding: "utf8" });
      return fingerprintOf(stdout.trim().split(" ").slice(1).join(" "));
    };
    const bootOn = async (dir: string) => {
      const c = await compute(row.id, { dataDir: dir });
      expect(await c.start()).toBe("running");
      const boot = (await findTarget(handle.db, row.id))!;
      const seen = await presented(boot.port!);
      await c.stop();
      expect(seen).toBe(boot.hostKeyFingerprint);
      return seen;
    };
    // Two instances, each with a data directory of its own (nothing shared but the database and the secret).
    const dirA = mkdtempSync(path.join(base, "instance-a-"));
    const dirB = mkdtempSync(path.join(base, "instance-b-"));
    const fromA = await bootOn(dirA);
    expect(await bootOn(dirB)).toBe(fromA);
    for (const d of [dirA, dirB]) expect(existsSync(path.join(d, "keys")) ? readdirSync(path.join(d, "keys")) : []).not.toContain(LEGACY_HOST_KEY_FILE);
    // Another target gets another key.
    const { target: other } = await registerTarget(handle.db, { workspaceId, name: "local-4", kind: "local", host: "127.0.0.1" });
    const o = await compute(other.id, { dataDir: dirA });
    await o.start();
    expect((await findTarget(handle.db, other.id))!.hostKeyFingerprint).not.toBe(fromA);
    await o.stop();
    // An install from before the derived key: its key file stays in use.
    const dirOld = mkdtempSync(path.join(base, "instance-old-"));
    mkdirSync(path.join(dirOld, "keys"), { mode: 0o700 });
    const old = generateEd25519("meshia-local-host");
    writeFileSync(path.join(dirOld, "keys", LEGACY_HOST_KEY_FILE), old.privateKey, { mode: 0o600 });
    expect(await bootOn(dirOld)).toBe(fingerprintOf(old.publicKey));
  });
});
