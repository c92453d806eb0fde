// Real OpenSSH compute targets for the browser tests: sshd processes on loopback
// addresses (127.0.0.2, 127.0.0.3, ...) set up exactly as an operator would, with
// the shipped scripts, and the shipped agent reporting their boots; or, as a compute
// pod runs, through the compute image's entrypoint (SshdTarget.startEntrypoint).
//
// Where it runs: a worker-scoped fixture (`sshd` in fixtures.ts), not globalSetup.
// A target's token exists only once a test has registered it (through the UI or the
// API), so sshd can only be configured from inside the tests; the worker fixture
// owns every process and file made here and removes them even when a test fails.
//
// Needs root: sshd binds port 22, reads root-only host keys, and runs the
// AuthorizedKeysCommand as `nobody` from a root-owned path (see STACK-FACTS).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AUTHORIZED_KEYS_SCRIPT_PATH, sshdConfig, TARGET_CONF_PATH } from "../../lib/targets/install";
import { ensureSystemUser } from "../../lib/targets/local/os-user";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SSHD = "/usr/sbin/sshd";
// Root-owned and outside /tmp: sshd refuses an AuthorizedKeysCommand in a path anyone but root can write.
const LIBEXEC_ROOT = "/usr/local/libexec/meshia-test";
const ETC_ROOT = "/etc/meshia-test";
const NOBODY = { uid: 65534, gid: 65534 }; // nobody:nogroup on Debian

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    // Next's types make NODE_ENV required in ProcessEnv; a child's environment needs no such thing.
    const env = (opts.env ?? process.env) as NodeJS.ProcessEnv;
    execFile(cmd, args, { env, timeout: opts.timeoutMs ?? 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function must(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Why the OpenSSH specs cannot run here, or null when they can. */
export function sshdUnavailable(): string | null {
  if (process.getuid?.() !== 0) {
    return "OpenSSH targets need root (sshd binds port 22, reads root-only host keys and runs AuthorizedKeysCommand as nobody); run the tests as root";
  }
  if (!existsSync("/usr/bin/ssh")) return "the OpenSSH client is missing (apt-get install -y openssh-client)";
  if (!existsSync("/usr/bin/setpriv")) return "setpriv (util-linux) is missing";
  return null;
}

async function ensureOpenSshServer(): Promise<void> {
  if (existsSync(SSHD)) return;
  const r = await run("apt-get", ["install", "-y", "--no-install-recommends", "openssh-server"], { timeoutMs: 300_000 });
  if (r.code !== 0 || !existsSync(SSHD)) throw new Error(`openssh-server is not installed and apt-get could not install it: ${r.stderr.trim()}`);
}

/**
 * The user every target logs people in as, made exactly as the embedded target
 * makes it (lib/targets/local/os-user.ts: a system user with bash and no
 * password, not locked, which sshd without PAM requires); sshd also wants its home.
 */
async function ensureMeshUser(): Promise<void> {
  const mesh = await ensureSystemUser("mesh");
  if (!existsSync(mesh.home)) mkdirSync(mesh.home, { recursive: true, mode: 0o750 });
  // A home (or its ~/.ssh) left by an earlier `mesh` (another uid, since removed) must become this one's.
  await must("chown", ["-R", `${mesh.uid}:${mesh.gid}`, mesh.home]);
  const shadow = (await must("getent", ["shadow", "mesh"])).split(":")[1] ?? "";
  if (shadow.startsWith("!")) await must("usermod", ["-p", "*", "mesh"]);
}

function mkdirRootOwned(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chownSync(dir, 0, 0);
  chmodSync(dir, 0o755);
}

function pidsWithParent(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === ppid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

export interface SshdTargetOptions {
  /** A short label for files and logs: [a-z0-9-]. */
  name: string;
  /** Loopback address sshd listens on, which is also the target's registered host. */
  host: string;
  port: number;
  /** target.conf exactly as the control plane handed it out. */
  conf: string;
  /** The sshd drop-in as handed out (production paths); rewritten to this run's paths. Default: lib/targets/install's. */
  dropIn?: string;
  /** Host key types sshd serves (ed25519 always). Debian's default is all three. */
  hostKeyTypes?: HostKeyType[];
  /**
   * Leaves an ssh_host_dsa_key.pub that sshd does not serve next to the others, as
   * on hosts upgraded from old releases (OpenSSH stopped loading DSA keys by default in 7.0).
   */
  staleDsaKey?: boolean;
}

export type HostKeyType = "ed25519" | "ecdsa" | "rsa";

/** The compute image's entrypoint, run from the repository as it is shipped. */
const ENTRYPOINT = path.join(REPO, "deploy", "target", "meshia-target-entrypoint");

export interface EntrypointOptions {
  /** The container's environment, as the pod template resolves it (the target's Secret, the boot's public port). */
  env: Record<string, string>;
  /** The capabilities the container keeps (securityContext.capabilities: drop ALL, add these); unset: all of root's. */
  capabilities?: string[];
  /** securityContext.allowPrivilegeEscalation: false, which is no_new_privs. */
  noNewPrivileges?: boolean;
}

export class SshdHarness {
  readonly runId = `${process.pid}-${randomBytes(3).toString("hex")}`;
  readonly libexecDir = path.join(LIBEXEC_ROOT, this.runId);
  readonly etcDir = path.join(ETC_ROOT, this.runId);
  readonly authorizedKeysScript = path.join(this.libexecDir, "meshia-authorized-keys");
  readonly agentScript = path.join(this.libexecDir, "meshia-target-agent");
  private readonly targets = new Map<string, SshdTarget>();

  private constructor(readonly logDir: string) {}

  static async create(logDir: string): Promise<SshdHarness> {
    const reason = sshdUnavailable();
    if (reason) throw new Error(reason);
    await ensureOpenSshServer();
    await ensureMeshUser();
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const h = new SshdHarness(logDir);
    mkdirSync(logDir, { recursive: true });
    for (const dir of ["/usr/local/libexec", LIBEXEC_ROOT, h.libexecDir, ETC_ROOT, h.etcDir]) mkdirRootOwned(dir);
    for (const script of ["meshia-authorized-keys", "meshia-target-agent"]) {
      const dest = path.join(h.libexecDir, script);
      writeFileSync(dest, readFileSync(path.join(REPO, "scripts", "target", script)));
      chownSync(dest, 0, 0);
      chmodSync(dest, 0o755);
    }
    return h;
  }

  /** A target's files (nothing runs yet). */
  target(opts: SshdTargetOptions): SshdTarget {
    if (!/^[a-z0-9-]+$/.test(opts.name) || this.targets.has(opts.name)) throw new Error(`bad or duplicate target name ${opts.name}`);
    const t = new SshdTarget(this, opts);
    this.targets.set(opts.name, t);
    return t;
  }

  async dispose(): Promise<void> {
    for (const t of this.targets.values()) await t.dispose().catch((err: unknown) => console.error(`sshd harness: disposing ${t.name}:`, err));
    rmSync(this.libexecDir, { recursive: true, force: true });
    rmSync(this.etcDir, { recursive: true, force: true });
    // The shared parents go only when no other run is using them.
    for (const dir of [LIBEXEC_ROOT, ETC_ROOT]) {
      try {
        rmdirSync(dir);
      } catch {
        // not empty: another run's files
      }
    }
  }
}

export class SshdTarget {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly confPath: string;
  readonly configPath: string;
  readonly dropInPath: string;
  /** The ed25519 host key: the one clients (ssh, the bridge) prefer and the control plane shows. */
  readonly hostKeyPath: string;
  readonly hostKeyTypes: HostKeyType[];
  private readonly staleDsaKey: boolean;
  readonly logPath: string;
  private readonly agentLogPath: string;
  private sshd: ChildProcess | null = null;
  private agent: ChildProcess | null = null;
  /** deploy/target/meshia-target-entrypoint, when this target runs as the compute pod does (startEntrypoint). */
  private entrypoint: ChildProcess | null = null;
  private boots = 0;
  bootId: string;

  constructor(
    private readonly harness: SshdHarness,
    opts: SshdTargetOptions,
  ) {
    this.name = opts.name;
    this.host = opts.host;
    this.port = opts.port;
    this.dir = path.join(harness.etcDir, opts.name);
    this.confPath = path.join(harness.etcDir, `${opts.name}.conf`);
    this.configPath = path.join(this.dir, "sshd_config");
    this.dropInPath = path.join(this.dir, "meshia.conf");
    this.hostKeyPath = path.join(this.dir, "ssh_host_ed25519_key");
    this.hostKeyTypes = [...new Set<HostKeyType>(["ed25519", ...(opts.hostKeyTypes ?? [])])];
    this.staleDsaKey = opts.staleDsaKey ?? false;
    this.logPath = path.join(harness.logDir, `sshd-${opts.name}.log`);
    this.agentLogPath = path.join(harness.logDir, `agent-${opts.name}.log`);
    this.bootId = this.nextBootId();
    mkdirRootOwned(this.dir);
    this.writeConf(opts.conf);
    // The drop-in the control plane hands out, pointed at this run's script and conf.
    const dropIn = (opts.dropIn ?? sshdConfig())
      .split(AUTHORIZED_KEYS_SCRIPT_PATH)
      .join(harness.authorizedKeysScript)
      .split(TARGET_CONF_PATH)
      .join(this.confPath);
    writeFileSync(this.dropInPath, dropIn, { mode: 0o644 });
    writeFileSync(this.logPath, "");
    writeFileSync(this.agentLogPath, "");
  }

  private nextBootId(): string {
    this.boots += 1;
    return `${this.name}-${this.harness.runId}-boot${this.boots}`;
  }

  /** (Re)writes target.conf as an operator installs it: root:nogroup 0640, so only root and the command user read the token. */
  writeConf(text: string): void {
    writeFileSync(this.confPath, text, { mode: 0o640 });
    chownSync(this.confPath, 0, NOBODY.gid);
    chmodSync(this.confPath, 0o640);
  }

  conf(): string {
    return readFileSync(this.confPath, "utf8");
  }

  confValue(key: string): string {
    const m = new RegExp(`^${key}=(.*)$`, "m").exec(this.conf());
    if (!m?.[1]) throw new Error(`${key} missing from ${this.confPath}`);
    return m[1];
  }

  /** Replaces this target's conf value (e.g. MESHIA_URL), as an operator editing the file would. */
  setConfValue(key: string, value: string): void {
    this.writeConf(this.conf().replace(new RegExp(`^${key}=.*$`, "m"), `${key}=${value}`));
  }

  private keyPath(type: HostKeyType | "dsa"): string {
    return path.join(this.dir, `ssh_host_${type}_key`);
  }

  /** Fresh host keys of every served type, made at test time; returns the ed25519 public line. */
  async newHostKey(): Promise<string> {
    const types: (HostKeyType | "dsa")[] = [...this.hostKeyTypes, ...(this.staleDsaKey ? (["dsa"] as const) : [])];
    for (const type of types) {
      const file = this.keyPath(type);
      rmSync(file, { force: true });
      rmSync(`${file}.pub`, { force: true });
      await must("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", `meshia-test-${this.name}`, "-f", file]);
      chmodSync(`${file}.pub`, 0o644);
    }
    return this.hostKeyLine();
  }

  hostKeyLine(): string {
    return readFileSync(`${this.hostKeyPath}.pub`, "utf8").trim();
  }

  async hostKeyFingerprint(): Promise<string> {
    return (await must("ssh-keygen", ["-l", "-E", "sha256", "-f", `${this.hostKeyPath}.pub`])).split(" ")[1] ?? "";
  }

  /** A known_hosts line pinning this target's current host key. */
  knownHostsLine(): string {
    const [type, b64] = this.hostKeyLine().split(" ");
    const host = this.port === 22 ? this.host : `[${this.host}]:${this.port}`;
    return `${host} ${type} ${b64}`;
  }

  private sshdConfigText(): string {
    return [
      `# sshd for Meshia test target ${this.name} (e2e/support/sshd.ts)`,
      `ListenAddress ${this.host}:${this.port}`,
      ...this.hostKeyTypes.map((type) => `HostKey ${this.keyPath(type)}`),
      `PidFile ${path.join(this.dir, "sshd.pid")}`,
      "UsePAM no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin no",
      "PrintMotd no",
      "LogLevel VERBOSE",
      // AuthorizedKeysFile is deliberately not set here: the shipped drop-in must
      // turn it off for mesh (a key planted in ~mesh/.ssh would outlive Revoke),
      // and start() checks that it does.
      `Include ${this.dropInPath}`,
      "",
    ].join("\n");
  }

  get running(): boolean {
    return this.sshd !== null && this.sshd.exitCode === null && this.sshd.signalCode === null;
  }

  log(): string {
    return readFileSync(this.logPath, "utf8");
  }

  agentLog(): string {
    return readFileSync(this.agentLogPath, "utf8");
  }

  /** Starts sshd (generating a host key first if there is none) and waits until it listens. */
  async start(): Promise<void> {
    if (this.running || this.entrypointRunning) throw new Error(`sshd for ${this.name} is already running`);
    if (!existsSync(this.hostKeyPath)) await this.newHostKey();
    writeFileSync(this.configPath, this.sshdConfigText(), { mode: 0o644 });
    await must(SSHD, ["-t", "-f", this.configPath]);
    // What the tests rely on, as sshd itself resolves it for a login as mesh.
    const effective = await must(SSHD, ["-T", "-f", this.configPath, "-C", `user=mesh,host=${this.host},addr=127.0.0.1`]);
    for (const want of [
      "authorizedkeysfile none",
      "authorizedkeyscommanduser nobody",
      `authorizedkeyscommand ${this.harness.authorizedKeysScript} ${this.confPath} %u %f`,
    ]) {
      if (!effective.split("\n").includes(want)) throw new Error(`sshd for ${this.name}: expected "${want}" in the effective config`);
    }
    const from = this.log().length;
    const fd = openSync(this.logPath, "a");
    // -D: stay in the foreground so the pid we hold is the listener; -e: log to stderr (the log file).
    const child = spawn(SSHD, ["-D", "-e", "-f", this.configPath], { stdio: ["ignore", fd, fd] });
    closeSync(fd);
    this.sshd = child;
    const ready = `Server listening on ${this.host} port ${this.port}.`;
    const deadline = Date.now() + 10_000;
    while (!this.log().slice(from).includes(ready)) {
      if (!this.running) throw new Error(`sshd for ${this.name} exited (${child.exitCode ?? child.signalCode}):\n${this.log().slice(from)}`);
      if (Date.now() > deadline) throw new Error(`sshd for ${this.name} did not listen within 10 s:\n${this.log().slice(from)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops the listener and the connections it forked (they are ours too). */
  async stop(): Promise<void> {
    const child = this.sshd;
    this.sshd = null;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const sessions = pidsWithParent(child.pid);
    child.kill("SIGTERM");
    if (!(await exited(child, 5000))) child.kill("SIGKILL");
    for (const pid of sessions) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  }

  /** Restarts sshd; with `newHostKey` it comes back with a different host key (and, unless reported, the same boot). */
  async restart(opts: { newHostKey?: boolean } = {}): Promise<void> {
    await this.stop();
    if (opts.newHostKey) await this.newHostKey();
    await this.start();
  }

  /** Starts a new boot id for the next report (what a reboot would do). */
  newBoot(): string {
    this.bootId = this.nextBootId();
    return this.bootId;
  }

  private agentEnv(env: Record<string, string>): Record<string, string> {
    return {
      PATH: "/usr/bin:/bin:/usr/sbin:/sbin",
      MESHIA_BOOT_ID: this.bootId,
      MESHIA_HOST_KEYS: path.join(this.dir, "ssh_host_*_key.pub"),
      MESHIA_PUBLIC_PORT: String(this.port),
      ...env,
    };
  }

  // The agent runs as nobody, as the unit handed out to operators does: it proves
  // the conf's group permission is enough.
  private agentArgs(command: string): string[] {
    return [`--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, "--clear-groups", "--", this.harness.agentScript, this.confPath, command];
  }

  /** Runs the installed AuthorizedKeysCommand as sshd does: as nobody, with this target's conf and `user`. */
  authorizedKeysCommand(user: string): Promise<RunResult> {
    const args = [`--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, "--clear-groups", "--", this.harness.authorizedKeysScript, this.confPath, user];
    return run("setpriv", args, { env: { PATH: "/usr/bin:/bin" } });
  }

  /** One shipped-agent command (boot, heartbeat or stop); `env` overrides the conf, as the agent allows. */
  report(command: "boot" | "heartbeat" | "stop", env: Record<string, string> = {}): Promise<RunResult> {
    return run("setpriv", this.agentArgs(command), { env: this.agentEnv(env) });
  }

  /** `meshia-target-agent run` in the background: reports the boot, then heartbeats every `heartbeat` seconds. */
  startAgent(env: Record<string, string> = {}, heartbeat = 3): void {
    if (this.agent) throw new Error(`the agent for ${this.name} is already running`);
    const fd = openSync(this.agentLogPath, "a");
    // Its own process group, so that stopping it also ends its `sleep`.
    this.agent = spawn("setpriv", this.agentArgs("run"), {
      env: this.agentEnv({ MESHIA_HEARTBEAT: String(heartbeat), ...env }) as NodeJS.ProcessEnv,
      stdio: ["ignore", fd, fd],
      detached: true,
    });
    closeSync(fd);
  }

  /** SIGTERM to the agent, as systemd would on shutdown: it reports `stop` and exits. */
  async stopAgent(): Promise<void> {
    const agent = this.agent;
    this.agent = null;
    if (!agent?.pid || agent.exitCode !== null || agent.signalCode !== null) return;
    try {
      process.kill(-agent.pid, "SIGTERM");
    } catch {
      return;
    }
    if (!(await exited(agent, 15_000))) {
      try {
        process.kill(-agent.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }

  // ---- the compute pod's entrypoint ------------------------------------------------
  // deploy/target/meshia-target-entrypoint run as it is, as the container's main
  // process: it makes the host keys, writes target.conf from its environment, starts
  // sshd and the agent, and stops both on SIGTERM. Only the paths differ from the
  // image's, through the variables the script reads for that.

  get entrypointRunning(): boolean {
    const e = this.entrypoint;
    return e !== null && e.exitCode === null && e.signalCode === null;
  }

  /** The sshd config the entrypoint is given: the image's drop-ins, this target's address and pid file. */
  private entrypointSshdConfigText(): string {
    return [
      `# sshd for Meshia test target ${this.name}, run by deploy/target/meshia-target-entrypoint (e2e/support/sshd.ts)`,
      `ListenAddress ${this.host}:${this.port}`,
      `PidFile ${this.pidFilePath}`,
      // As Debian's sshd_config includes /etc/ssh/sshd_config.d/*.conf in the image.
      `Include ${path.join(this.dir, "container.conf")}`,
      `Include ${this.dropInPath}`,
      "",
    ].join("\n");
  }

  get pidFilePath(): string {
    return path.join(this.dir, "sshd.pid");
  }

  /** The environment the entrypoint runs with: the container's (`env`), and this run's paths. */
  entrypointEnv(env: Record<string, string>): Record<string, string> {
    return {
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      ...env,
      MESHIA_SSHD_CONFIG: this.configPath,
      MESHIA_HOST_KEY_DIR: this.dir,
      MESHIA_TARGET_CONF: this.confPath,
      MESHIA_AGENT: this.harness.agentScript,
      MESHIA_HEARTBEAT: env.MESHIA_HEARTBEAT ?? "3",
    };
  }

  /** The command line: the entrypoint, confined as the pod's securityContext confines the container. */
  entrypointCommand(opts: Pick<EntrypointOptions, "capabilities" | "noNewPrivileges"> = {}): [string, string[]] {
    if (!opts.capabilities && !opts.noNewPrivileges) return [ENTRYPOINT, []];
    const args: string[] = [];
    if (opts.capabilities) {
      // Root in a container keeps exactly its bounding set (Kubernetes' add/drop); the
      // inheritable and ambient sets are empty, so nothing else comes back at exec.
      const caps = opts.capabilities.map((c) => `+${c.toLowerCase().replace(/^cap_/, "")}`);
      args.push("--inh-caps=-all", "--ambient-caps=-all", `--bounding-set=-all${caps.length ? `,${caps.join(",")}` : ""}`);
    }
    if (opts.noNewPrivileges) args.push("--no-new-privs"); // allowPrivilegeEscalation: false
    return ["setpriv", [...args, "--", ENTRYPOINT]];
  }

  /**
   * Starts the target as the compute pod does: a fresh container, so no host keys and
   * no target.conf until the entrypoint makes them. Waits until sshd listens and the
   * entrypoint has started the agent, and takes the boot id it made.
   */
  async startEntrypoint(opts: EntrypointOptions): Promise<void> {
    if (this.running || this.entrypointRunning) throw new Error(`sshd for ${this.name} is already running`);
    for (const f of readdirSync(this.dir)) if (f.startsWith("ssh_host_")) rmSync(path.join(this.dir, f), { force: true });
    rmSync(this.confPath, { force: true });
    writeFileSync(path.join(this.dir, "container.conf"), readFileSync(path.join(REPO, "deploy/target/sshd_config.d/container.conf")), { mode: 0o644 });
    writeFileSync(this.configPath, this.entrypointSshdConfigText(), { mode: 0o644 });
    const from = this.log().length;
    const fd = openSync(this.logPath, "a");
    const [cmd, args] = this.entrypointCommand(opts);
    // Its own process group: what it leaves behind (the agent's sleep) is cleared with it.
    const child = spawn(cmd, args, { env: this.entrypointEnv(opts.env) as NodeJS.ProcessEnv, stdio: ["ignore", fd, fd], detached: true });
    closeSync(fd);
    this.entrypoint = child;
    const deadline = Date.now() + 30_000; // three host keys, RSA among them, on a busy machine
    for (;;) {
      const said = this.log().slice(from);
      const boot = /meshia-target-entrypoint: boot (\S+), public port (\d+)/.exec(said);
      if (boot && said.includes(`Server listening on ${this.host} port ${this.port}.`)) {
        this.bootId = boot[1]!;
        return;
      }
      if (!this.entrypointRunning) throw new Error(`the entrypoint for ${this.name} exited (${child.exitCode ?? child.signalCode}):\n${said}`);
      if (Date.now() > deadline) throw new Error(`the entrypoint for ${this.name} did not start sshd within 30 s:\n${said}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The pid sshd wrote (the listener), or null. */
  sshdPid(): number | null {
    try {
      return Number(readFileSync(this.pidFilePath, "utf8").trim()) || null;
    } catch {
      return null;
    }
  }

  /** The entrypoint's children (sshd, the agent), with their command lines. */
  entrypointChildren(): { pid: number; args: string }[] {
    const pid = this.entrypoint?.pid;
    if (!pid) return [];
    return pidsWithParent(pid).flatMap((p) => {
      try {
        return [{ pid: p, args: readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").join(" ").trim() }];
      } catch {
        return [];
      }
    });
  }

  /**
   * Sends `signal` to the entrypoint alone, as the kubelet (through tini) does when the
   * pod is deleted, and waits for it to exit. Returns its exit code (null: killed by a signal).
   */
  async stopEntrypoint(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 20_000): Promise<number | null> {
    const child = this.entrypoint;
    if (!child?.pid) return null;
    this.entrypoint = null;
    let stopped = child.exitCode !== null || child.signalCode !== null;
    if (!stopped) {
      child.kill(signal);
      stopped = await exited(child, timeoutMs);
    }
    // Whatever is left in its group (the agent's sleep; everything, if it hung).
    try {
      process.kill(-child.pid, stopped ? "SIGTERM" : "SIGKILL");
    } catch {
      // nothing left
    }
    if (!stopped) {
      await exited(child, 5000);
      throw new Error(`the entrypoint for ${this.name} did not exit within ${timeoutMs} ms of ${signal}:\n${this.log().slice(-2000)}`);
    }
    return child.exitCode;
  }

  /** Waits for the entrypoint to exit by itself (e.g. after sshd died); returns its exit code. */
  async entrypointExit(timeoutMs = 20_000): Promise<number | null> {
    const child = this.entrypoint;
    if (!child) return null;
    if (!(await exited(child, timeoutMs))) throw new Error(`the entrypoint for ${this.name} is still running after ${timeoutMs} ms`);
    return this.stopEntrypoint();
  }

  async dispose(): Promise<void> {
    await this.stopEntrypoint().catch((err: unknown) => console.error(`sshd harness: stopping ${this.name}'s entrypoint:`, err));
    await this.stopAgent();
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.confPath, { force: true });
  }
}
