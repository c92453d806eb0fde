// The embedded target as a pod: boot (sandbox check, volume, a fresh port and boot
// id, the same host key), heartbeats while it runs, stop (every connection and
// terminal session ends with "compute stopped"), start again. Start and stop are
// serialised: one transition at a time.
//
// The host key is derived from the bridge secret and the target's id
// (lib/ssh/bridge-credential.ts), so every instance that may take the target over
// presents the same one. A key file left in the data directory by an earlier version
// (keys/local_host_ed25519) is kept while it is there: the clients that trusted it
// keep trusting it.
import { existsSync } from "node:fs";
import path from "node:path";
import type { Db } from "@/db/client";
import type { ComputeTarget } from "@/db/schema";
import { loadOrCreateKeyFile } from "@/lib/keys/key-file";
import { embeddedHostKey } from "@/lib/ssh/bridge-credential";
import type { Logger } from "@/lib/log";
import { authorizedKeys } from "../authorized-keys";
import { findTarget, heartbeat, markStopped, markUnavailable, recordBoot } from "../registry";
import { detectSandbox, type SandboxProbe } from "./sandbox";
import { LocalTarget, type AllowedKey, type LoginAttempt } from "./server";
import { prepareVolume, prepareVolumesRoot } from "./volumes";

export interface LocalComputeOptions {
  db: Db;
  row: ComputeTarget;
  log: Logger;
  dataDir: string;
  volumesDir: string;
  listenHost: string;
  publicHost: string;
  ports: { from: number; to: number };
  liveWindowMs: number;
  probe?: SandboxProbe;
  /** Keys that may log in as `user` now; default: the authorized-keys lookup, uncached. */
  allowedKeys?(user: string): Promise<AllowedKey[]>;
  /** Every key login attempt on the target (the SSH access audit). */
  onLogin?(attempt: LoginAttempt): void;
  /** Called when the target stops (its terminal sessions end by the target.stopped event, on every instance). */
  onStop?(targetId: string): void;
  /** What the terminal sessions on it say when it stops. */
  stopDetail?: string;
}

/** Where versions before the derived host key kept it, in the data directory's keys/. */
export const LEGACY_HOST_KEY_FILE = "local_host_ed25519";

export type LocalComputeState = "running" | "stopped" | "unavailable";

export class LocalCompute {
  readonly targetId: string;
  readonly workspaceId: string;
  target: LocalTarget | null = null;
  state: LocalComputeState = "stopped";
  private beat: NodeJS.Timeout | null = null;
  private lastPort: number | null = null;
  private lastUnavailable: string | null = null;
  /** Stopped for good (the instance lost the lead): a start queued before that boots nothing. */
  private retired = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: LocalComputeOptions) {
    this.targetId = opts.row.id;
    this.workspaceId = opts.row.workspaceId;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Boots the target unless it runs; `unavailable` (and says why, once) when no sandbox is possible. */
  start(): Promise<LocalComputeState> {
    return this.serial(() => this.boot());
  }

  /** Stops it: every SSH connection and terminal session on it ends. */
  stop(actor: string | null = null): Promise<LocalComputeState> {
    return this.serial(() => this.halt(actor));
  }

  /** Stops it for good: this instance no longer runs it (another may, at once). */
  retire(): Promise<LocalComputeState> {
    this.retired = true;
    return this.stop();
  }

  private async current(): Promise<ComputeTarget> {
    const row = await findTarget(this.opts.db, this.targetId);
    if (!row) throw new Error(`the local target ${this.targetId} is gone`);
    return row;
  }

  private async boot(): Promise<LocalComputeState> {
    if (this.state === "running" || this.retired) return this.state;
    const { db, log } = this.opts;
    const found = await detectSandbox({ dataDir: this.opts.dataDir, volumesDir: this.ensureVolumesDir(), probe: this.opts.probe });
    if (!found.ok) {
      if (this.lastUnavailable !== found.reason) {
        log.error({ reason: found.reason, fix: found.fix }, "the embedded compute target starts no shells: no sandbox is possible here");
        this.lastUnavailable = found.reason;
      }
      await markUnavailable(db, await this.current(), { reason: found.reason, fix: found.fix });
      this.state = "unavailable";
      return this.state;
    }
    this.lastUnavailable = null;
    const { sandbox } = found;
    const volume = prepareVolume({
      dataDir: this.opts.dataDir,
      volumesDir: this.opts.volumesDir,
      workspaceId: this.workspaceId,
      owner: sandbox.volumeOwner,
      log,
    });
    // The same host key every boot, on every instance: clients that trusted it keep trusting it.
    const hostKey = this.hostKey();
    const target = new LocalTarget({
      listenHost: this.opts.listenHost,
      ports: this.opts.ports,
      avoidPort: this.lastPort,
      hostKey,
      volume,
      sandbox,
      log: log.child({ target: this.targetId }),
      onLogin: this.opts.onLogin,
      // The very lookup OpenSSH targets reach over HTTP, asked at every login.
      allowedKeys:
        this.opts.allowedKeys ??
        (async (user) => {
          const row = await findTarget(db, this.targetId);
          if (!row) return [];
          return authorizedKeys(db, row, user, { liveWindowMs: this.opts.liveWindowMs });
        }),
    });
    const boot = await target.start();
    try {
      await recordBoot(db, await this.current(), { bootId: boot.bootId, port: boot.port, hostKeys: [hostKey.publicKey], host: this.opts.publicHost });
    } catch (err) {
      await target.stop();
      throw err;
    }
    this.target = target;
    this.lastPort = boot.port;
    this.state = "running";
    this.beat = setInterval(
      () => heartbeat(db, this.targetId).catch((err: unknown) => log.warn({ err }, "local target heartbeat failed")),
      Math.max(1000, Math.min(30_000, this.opts.liveWindowMs / 3)),
    );
    this.beat.unref();
    return this.state;
  }

  private hostKey(): { privateKey: string; publicKey: string } {
    const legacy = path.join(this.opts.dataDir, "keys", LEGACY_HOST_KEY_FILE);
    if (existsSync(legacy)) return loadOrCreateKeyFile(legacy, "meshia-local-host", this.opts.log);
    return embeddedHostKey(this.targetId);
  }

  private ensureVolumesDir(): string {
    // detectSandbox probes inside the volumes directory, so it must exist first.
    prepareVolumesRoot(this.opts.volumesDir);
    return this.opts.volumesDir;
  }

  private async halt(actor: string | null): Promise<LocalComputeState> {
    if (this.state !== "running") return this.state;
    if (this.beat) clearInterval(this.beat);
    this.beat = null;
    const target = this.target;
    this.target = null;
    this.state = "stopped";
    // Stopped in the registry first: the lookup then refuses every key, so nothing logs in meanwhile.
    // The SSH server stops even when that fails (the database gone, the lead lost with it):
    // another instance may be taking the embedded target over.
    try {
      await markStopped(this.opts.db, await this.current(), actor, this.opts.stopDetail);
      this.opts.onStop?.(this.targetId);
    } finally {
      await target?.stop();
    }
    return this.state;
  }
}
