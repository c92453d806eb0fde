// The embedded compute target: a real SSH server (ssh2's Server) with PTY shells
// through node-pty, so one command is enough to try the whole product. It asks the
// same authorized-keys lookup as an OpenSSH target at every login.
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chownSync, mkdirSync, readFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pty from "node-pty";
import ssh2, { type Connection, type ServerChannel, type Session } from "ssh2";
import type { Logger } from "@/lib/log";
import type { KeyFile } from "@/lib/keys/key-file";
import { SSH_USER } from "./ssh-command";

export interface LocalTargetOptions {
  listenHost: string;
  ports: { from: number; to: number };
  hostKey: KeyFile;
  /** HOME and starting directory of every shell. */
  volume: string;
  /** The authorized-keys lookup: keys that may log in as `user` right now, with their sshd options. */
  allowedKeys(user: string): Promise<{ blob: Buffer; options: string | null }[]>;
  log: Logger;
}

interface OsUser {
  uid: number;
  gid: number;
  shell: string;
}

const AUTH_TIMEOUT_MS = 30_000;
/** One SSH packet's worth (ssh2 and OpenSSH clients take 32 KiB packets). */
const COALESCE_BYTES = 32 * 1024;
/** The most a Linux pty read returns in one go, typically (its buffers hold 4095 bytes). */
const PTY_FULL_READ = 4095;
/** Reads below this are interactive (echoes, prompts) or the end of a burst: no waiting. */
const SMALL_READ = 1024;
/** Pty output waiting for SSH window above which we stop reading the pty (one SSH packet)... */
const PTY_PAUSE_BYTES = 32 * 1024;
/** ...and below which we read again. */
const PTY_RESUME_BYTES = 0;
const PASS_ENV = /^(LANG|LC_[A-Z]+|TZ|COLORTERM)$/;
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function passwdEntry(name: string): OsUser | null {
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const f = line.split(":");
      if (f[0] === name && f.length >= 7) return { uid: Number(f[2]), gid: Number(f[3]), shell: f[6] || "/bin/sh" };
    }
  } catch {
    // No /etc/passwd (unusual container): fall back to the server's own user.
  }
  return null;
}

function usableShell(shell: string | undefined): string {
  if (shell && !/nologin|false$/.test(shell)) return shell;
  return "/bin/bash";
}

function isLoopback(host: string): boolean {
  if (host === "localhost" || host === "::1") return true;
  return net.isIPv4(host) && host.startsWith("127.");
}

export class LocalTarget {
  readonly bootId = randomUUID();
  port = 0;
  private server: ssh2.Server | null = null;
  private readonly clients = new Set<Connection>();
  private readonly processes = new Set<{ kill(signal?: NodeJS.Signals): unknown }>();
  /** Who shells run as: `mesh` when we are root and it exists, else ourselves. */
  private readonly runAs: (OsUser & { name: string }) | null;

  constructor(private readonly opts: LocalTargetOptions) {
    const mesh = process.getuid?.() === 0 ? passwdEntry(SSH_USER) : null;
    this.runAs = mesh ? { ...mesh, name: SSH_USER } : null;
  }

  get connections(): number {
    return this.clients.size;
  }

  async start(): Promise<{ port: number; bootId: string }> {
    // Parents stay traversable so that `mesh` can reach its own volume; the volume is its alone.
    mkdirSync(path.dirname(this.opts.volume), { recursive: true, mode: 0o755 });
    mkdirSync(this.opts.volume, { recursive: true, mode: 0o700 });
    if (this.runAs) chownSync(this.opts.volume, this.runAs.uid, this.runAs.gid);
    this.port = await this.listen();
    this.opts.log.info({ port: this.port, bootId: this.bootId, runAs: this.runAs?.name ?? null }, "local target listening");
    return { port: this.port, bootId: this.bootId };
  }

  /** Stops accepting, ends every connection and shell: "compute stopped". */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const p of this.processes) p.kill("SIGHUP");
    for (const c of this.clients) c.end();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async listen(): Promise<number> {
    const { from, to } = this.opts.ports;
    const span = to - from + 1;
    const first = Math.floor(Math.random() * span);
    for (let i = 0; i < span; i++) {
      const port = from + ((first + i) % span);
      const server = new ssh2.Server({ hostKeys: [this.opts.hostKey.privateKey], ident: "Meshia_local" }, (client) => this.onClient(client));
      try {
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(port, this.opts.listenHost, () => {
            server.off("error", reject);
            resolve();
          });
        });
        server.on("error", (err: Error) => this.opts.log.error({ err }, "local target server error"));
        this.server = server;
        return port;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "EADDRINUSE" && code !== "EACCES") throw err;
      }
    }
    throw new Error(`no free port for the local target in ${from}-${to}`);
  }

  private onClient(client: Connection): void {
    this.clients.add(client);
    let authed = false;
    let mayForward = false;
    const authTimer = setTimeout(() => !authed && client.end(), AUTH_TIMEOUT_MS);
    client.on("error", (err) => this.opts.log.debug({ err: err.message }, "local target client error"));
    client.on("close", () => {
      clearTimeout(authTimer);
      this.clients.delete(client);
    });

    client.on("authentication", (ctx) => {
      if (ctx.method !== "publickey" || ctx.username !== SSH_USER) return ctx.reject(["publickey"]);
      this.opts
        .allowedKeys(ctx.username)
        .then((keys) => {
          const match = keys.find((k) => k.blob.equals(ctx.key.data));
          if (!match) return ctx.reject(["publickey"]);
          if (!ctx.signature) return ctx.accept(); // "this key would be acceptable": the client signs next.
          // ssh2 verified nothing yet: check the signature against the offered key.
          if (!verifySignature(ctx.key.data, ctx.blob!, ctx.signature, ctx.hashAlgo)) return ctx.reject(["publickey"]);
          // Honour the one sshd option we hand out, as sshd would.
          mayForward = !(match.options ?? "").split(",").includes("no-port-forwarding");
          ctx.accept();
        })
        .catch((err: unknown) => {
          // Fail closed: if we cannot ask, nobody gets in.
          this.opts.log.error({ err }, "authorized-keys lookup failed; refusing login");
          ctx.reject(["publickey"]);
        });
    });

    client.on("ready", () => {
      authed = true;
      client.on("session", (accept) => this.onSession(accept()));
      client.on("tcpip", (accept, reject, info) => {
        if (!mayForward || !isLoopback(info.destIP)) return reject();
        const sock = net.connect(info.destPort, info.destIP);
        sock.once("error", () => reject());
        sock.once("connect", () => {
          const ch = accept();
          sock.removeAllListeners("error");
          sock.on("error", () => ch.destroy());
          ch.on("error", () => sock.destroy());
          sock.pipe(ch).pipe(sock);
        });
      });
      client.on("request", (accept, reject) => reject?.());
    });
  }

  private onSession(session: Session): void {
    let ptyInfo: { term: string; cols: number; rows: number } | null = null;
    const env: Record<string, string> = {};
    let resize: ((cols: number, rows: number) => void) | null = null;
    let signal: ((name: string) => void) | null = null;

    session.on("env", (accept, _reject, info) => {
      if (PASS_ENV.test(info.key)) env[info.key] = info.val;
      accept?.();
    });
    session.on("pty", (accept, _reject, info) => {
      ptyInfo = { term: info.term || "xterm-256color", cols: info.cols || 80, rows: info.rows || 24 };
      accept?.();
    });
    session.on("window-change", (accept, _reject, info) => {
      if (ptyInfo) ptyInfo = { ...ptyInfo, cols: info.cols, rows: info.rows };
      resize?.(info.cols, info.rows);
      accept?.();
    });
    session.on("signal", (accept, _reject, info) => {
      signal?.(info.name);
      accept?.();
    });
    const run = (channel: ServerChannel, command: string | null) => {
      const ctl = ptyInfo ? this.runPty(channel, command, ptyInfo, env) : this.runPipes(channel, command, env);
      resize = ctl.resize;
      signal = ctl.signal;
    };
    session.on("shell", (accept) => run(accept(), null));
    session.on("exec", (accept, _reject, info) => run(accept(), info.command));
    session.on("subsystem", (_accept, reject) => reject());
  }

  private baseEnv(term: string | null, extra: Record<string, string>): Record<string, string> {
    const shell = this.shell();
    const user = this.runAs?.name ?? os.userInfo().username;
    // A clean environment: the control plane's own (DATABASE_URL and the like) must never leak into shells.
    return {
      HOME: this.opts.volume,
      USER: user,
      LOGNAME: user,
      SHELL: shell,
      PATH: DEFAULT_PATH,
      LANG: "C.UTF-8",
      ...(term ? { TERM: term } : {}),
      ...extra,
    };
  }

  private shell(): string {
    if (this.runAs) return usableShell(this.runAs.shell);
    return usableShell(os.userInfo().shell ?? undefined);
  }

  private runPty(
    channel: ServerChannel,
    command: string | null,
    info: { term: string; cols: number; rows: number },
    env: Record<string, string>,
  ) {
    const shell = this.shell();
    const proc = pty.spawn(shell, command === null ? ["-l"] : ["-c", command], {
      name: info.term,
      cols: clamp(info.cols),
      rows: clamp(info.rows),
      cwd: this.opts.volume,
      env: this.baseEnv(info.term, env),
      encoding: null,
      ...(this.runAs ? { uid: this.runAs.uid, gid: this.runAs.gid } : {}),
    });
    this.processes.add(proc);
    // A pty read returns ~4 KiB at most, and libuv does one read per readiness, so
    // writing each read as it came made one SSH packet per 4 KiB: padding, encryption
    // and a socket write here, a decryption and a data event at the client, per 4 KiB.
    // While reads keep coming turn after turn (a program dumping output), they are
    // collected into one write of up to a full 32 KiB packet, sent after the first
    // turn without a read. A small read (a keystroke echo, a prompt, the tail of a
    // burst) goes out at once. Pending immediates keep the loop from blocking in
    // poll, so waiting a turn costs microseconds, not a timer tick.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let readThisTurn = false;
    let turnCheck: NodeJS.Immediate | null = null;
    let paused = false;
    const flush = () => {
      if (turnCheck) clearImmediate(turnCheck);
      turnCheck = null;
      if (!pendingBytes) return;
      const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      if (!channel.writable) return;
      // Backpressure: when the SSH channel's window is full, stop reading the pty so
      // the program blocks instead of our memory growing. Pause as soon as output
      // waits for window (as sshd does), not when write() says so: that happens only
      // past the stream's 2 MiB high-water mark, and those 2 MiB still reached the
      // browser after a Ctrl-C. Whatever stays in the pty is flushed by the tty on ^C.
      channel.write(data, () => {
        if (paused && channel.writableLength <= PTY_RESUME_BYTES) {
          paused = false;
          proc.resume();
        }
      });
      if (!paused && channel.writableLength > PTY_PAUSE_BYTES) {
        paused = true;
        proc.pause();
      }
    };
    const endOfTurn = () => {
      turnCheck = null;
      if (readThisTurn && !paused) {
        readThisTurn = false;
        turnCheck = setImmediate(endOfTurn);
      } else flush();
    };
    proc.onData((data: string | Buffer) => {
      const chunk = typeof data === "string" ? Buffer.from(data) : data;
      pending.push(chunk);
      pendingBytes += chunk.length;
      // Flush before another full read would overflow the packet (8 x 4095 fit in 32 KiB, 9 would split).
      if (pendingBytes + PTY_FULL_READ > COALESCE_BYTES || chunk.length < SMALL_READ) return flush();
      readThisTurn = true;
      turnCheck ??= setImmediate(endOfTurn);
    });
    // Bytes as they came: node-pty (encoding null) would UTF-8-encode a string, so a
    // latin1 string of the input doubled every non-ASCII byte.
    channel.on("data", (d: Buffer) => proc.write(d));
    channel.on("error", () => undefined);
    channel.on("close", () => {
      if (turnCheck) clearImmediate(turnCheck);
      pending = [];
      pendingBytes = 0;
      proc.kill("SIGHUP");
    });
    proc.onExit(({ exitCode, signal }) => {
      this.processes.delete(proc);
      flush(); // the last output goes before the exit status
      finish(channel, exitCode, signal);
    });
    return {
      resize: (cols: number, rows: number) => {
        try {
          proc.resize(clamp(cols), clamp(rows));
        } catch {
          // The pty is already gone.
        }
      },
      signal: (name: string) => proc.kill(`SIG${name}`),
    };
  }

  private runPipes(channel: ServerChannel, command: string | null, env: Record<string, string>) {
    const child: ChildProcess = spawn(this.shell(), command === null ? ["-l"] : ["-c", command], {
      cwd: this.opts.volume,
      env: this.baseEnv(null, env) as NodeJS.ProcessEnv,
      stdio: ["pipe", "pipe", "pipe"],
      ...(this.runAs ? { uid: this.runAs.uid, gid: this.runAs.gid } : {}),
    });
    this.processes.add(child);
    child.stdout!.pipe(channel, { end: false });
    child.stderr!.pipe(channel.stderr, { end: false });
    channel.pipe(child.stdin!);
    child.stdin!.on("error", () => undefined);
    channel.on("error", () => undefined);
    channel.on("close", () => child.exitCode === null && child.kill("SIGHUP"));
    child.on("error", () => finish(channel, 127, undefined));
    child.on("close", (code, sig) => {
      this.processes.delete(child);
      finish(channel, code ?? 0, sig ? sigNumber(sig) : undefined);
    });
    return { resize: null, signal: (name: string) => child.kill(`SIG${name}` as NodeJS.Signals) };
  }
}

function clamp(n: number): number {
  return Math.max(1, Math.min(1000, Math.floor(n) || 1));
}

const SIGNALS: Record<number, string> = { 1: "HUP", 2: "INT", 3: "QUIT", 6: "ABRT", 9: "KILL", 13: "PIPE", 14: "ALRM", 15: "TERM" };

function sigNumber(sig: NodeJS.Signals): number {
  const entry = Object.entries(SIGNALS).find(([, name]) => `SIG${name}` === sig);
  return entry ? Number(entry[0]) : 15;
}

/** exit-status (or exit-signal) must precede EOF/close for `ssh` to report it. */
function finish(channel: ServerChannel, exitCode: number, signal: number | undefined): void {
  if (channel.destroyed) return;
  if (signal) channel.exit(SIGNALS[signal] ?? "TERM", false, "");
  else channel.exit(exitCode);
  channel.end();
}

function verifySignature(keyBlob: Buffer, data: Buffer, signature: Buffer, hashAlgo: string | undefined): boolean {
  const parsed = ssh2.utils.parseKey(keyBlob);
  if (parsed instanceof Error) return false;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key) return false;
  return key.verify(data, signature, hashAlgo) === true;
}
