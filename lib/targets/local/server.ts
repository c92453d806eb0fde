// The embedded target's SSH server (ssh2's Server): one boot = one listening port.
// It authenticates against the same authorized-keys lookup as an OpenSSH target, at
// every login, and hands sessions to the shell, sftp and forwarding modules, which
// run everything in the sandbox.
import { randomUUID } from "node:crypto";
import ssh2, { type Connection, type ServerChannel, type Session } from "ssh2";
import { fingerprintOfBlob } from "@/lib/keys/fingerprint";
import type { KeyFile } from "@/lib/keys/key-file";
import type { Logger } from "@/lib/log";
import { SSH_USER } from "../ssh-command";
import { Forwarding, type SocketOpener } from "./forwarding";
import { NetHelper } from "./net-helper";
import type { Sandbox } from "./sandbox";
import { findSftpServer, runSftp } from "./sftp";
import { runPipes, runPty, shellArgv, type Control, type Killable, type ShellContext } from "./shell";

export interface LocalTargetOptions {
  listenHost: string;
  ports: { from: number; to: number };
  /** The previous boot's port: a new boot takes another one when the range allows. */
  avoidPort?: number | null;
  /** Its host key (the OpenSSH private key file's text and the public line). */
  hostKey: Pick<KeyFile, "privateKey" | "publicKey">;
  /** HOME and starting directory of every shell: the workspace volume. */
  volume: string;
  sandbox: Sandbox;
  /** The authorized-keys lookup: keys that may log in as `user` right now, with their sshd options. */
  allowedKeys(user: string): Promise<AllowedKey[]>;
  /** Told the outcome of every connection that tried to log in with a key (not the bridge's own logins). */
  onLogin?(attempt: LoginAttempt): void;
  log: Logger;
  /** sftp-server to run for the sftp subsystem; default: the system's, found at start. */
  sftpServer?: string | null;
  /** Opens forwarded sockets; default: a helper running as the sandbox's user. */
  sockets?: SocketOpener;
}

export interface AllowedKey {
  blob: Buffer;
  options: string | null;
  /** "bridge": the control plane's own credential for this target (its logins are audited as terminal sessions). */
  purpose?: "workspace" | "bridge";
}

/** One connection's login, as sshd would log it: who it claimed to be, from where, with which key, and the result. */
export interface LoginAttempt {
  source: string | null;
  user: string;
  /** SHA256 fingerprint of the last key the client offered, if any. */
  fingerprint: string | null;
  result: "accepted" | "refused" | "lookup-failed";
}

const AUTH_TIMEOUT_MS = 30_000;
/** How long stop() lets sessions close by themselves before it ends the connections. */
const CLOSE_GRACE_MS = 1000;
const PASS_ENV = /^(LANG|LC_[A-Z]+|TZ|COLORTERM)$/;
export const COMPUTE_STOPPED = "compute stopped";

export class LocalTarget {
  readonly bootId = randomUUID();
  port = 0;
  private server: ssh2.Server | null = null;
  private readonly clients = new Set<Connection>();
  private readonly channels = new Set<ServerChannel>();
  private readonly programs = new Set<Killable>();
  private readonly sftpServer: string | null;
  private readonly shellCtx: ShellContext;
  private readonly netHelper: NetHelper | null;
  private readonly sockets: SocketOpener;

  constructor(private readonly opts: LocalTargetOptions) {
    this.sftpServer = opts.sftpServer === undefined ? findSftpServer() : opts.sftpServer;
    this.netHelper = opts.sockets ? null : new NetHelper(opts.sandbox, opts.volume, opts.log);
    this.sockets = opts.sockets ?? this.netHelper!;
    this.shellCtx = {
      sandbox: opts.sandbox,
      volume: opts.volume,
      track: (p) => {
        this.programs.add(p);
        return () => this.programs.delete(p);
      },
    };
  }

  async start(): Promise<{ port: number; bootId: string }> {
    this.port = await this.listen();
    if (!this.sftpServer) this.opts.log.warn("sftp-server is not installed: scp, sftp and rsync will be refused (Debian: apt-get install openssh-sftp-server)");
    this.opts.log.info({ port: this.port, bootId: this.bootId, sandbox: this.opts.sandbox.kind, user: this.opts.sandbox.userName }, "local target listening");
    return { port: this.port, bootId: this.bootId };
  }

  /** Stops accepting, then ends every program and connection, telling each session "compute stopped". */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const ch of this.channels) {
      try {
        ch.stderr.write(`\r\nmeshia: ${COMPUTE_STOPPED}\r\n`);
      } catch {
        // the channel is already going
      }
    }
    for (const p of this.programs) p.hangUp();
    // Let the sessions close on their own first: a client that gets the disconnect in the
    // same read as the message may exit without printing it.
    await this.channelsClosed(CLOSE_GRACE_MS);
    for (const c of this.clients) c.end();
    this.netHelper?.stop();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private channelsClosed(withinMs: number): Promise<void> {
    const deadline = Date.now() + withinMs;
    return new Promise((resolve) => {
      const check = () => (this.channels.size === 0 || Date.now() >= deadline ? resolve() : setTimeout(check, 20));
      check();
    });
  }

  private async listen(): Promise<number> {
    const { from, to } = this.opts.ports;
    const span = to - from + 1;
    const first = Math.floor(Math.random() * span);
    for (let i = 0; i < span; i++) {
      const port = from + ((first + i) % span);
      if (port === this.opts.avoidPort && span > 1) continue;
      const server = new ssh2.Server({ hostKeys: [this.opts.hostKey.privateKey], ident: "Meshia_local" }, (client, info) =>
        this.onClient(client, info.ip ?? null),
      );
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

  private onClient(client: Connection, source: string | null): void {
    this.clients.add(client);
    let authed = false;
    // What this connection tried, reported once: on success, or when it goes without logging in.
    let attempt: Omit<LoginAttempt, "source"> | null = null;
    const report = () => {
      if (attempt && this.opts.onLogin) this.opts.onLogin({ source, ...attempt });
      attempt = null;
    };
    let mayForward = false;
    const forwarding = new Forwarding(client, () => mayForward, this.sockets);
    const authTimer = setTimeout(() => !authed && client.end(), AUTH_TIMEOUT_MS);
    client.on("error", (err) => this.opts.log.debug({ err: err.message }, "local target client error"));
    client.on("close", () => {
      if (!authed) report();
      clearTimeout(authTimer);
      forwarding.close();
      this.clients.delete(client);
    });

    client.on("authentication", (ctx) => {
      if (ctx.method !== "publickey") {
        // "none" (every client's first ask), password and the rest: a login attempt without a key.
        attempt ??= { user: ctx.username.slice(0, 64), fingerprint: null, result: "refused" };
        return ctx.reject(["publickey"]);
      }
      const fingerprint = fingerprintOfBlob(ctx.key.data);
      attempt = { user: ctx.username.slice(0, 64), fingerprint, result: "refused" };
      if (ctx.username !== SSH_USER) return ctx.reject(["publickey"]);
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
          attempt = match.purpose === "bridge" ? null : { user: ctx.username, fingerprint, result: "accepted" };
          report();
          ctx.accept();
        })
        .catch((err: unknown) => {
          // Fail closed: if we cannot ask, nobody gets in.
          this.opts.log.error({ err }, "authorized-keys lookup failed; refusing login");
          attempt = { user: ctx.username, fingerprint, result: "lookup-failed" };
          ctx.reject(["publickey"]);
        });
    });

    client.on("ready", () => {
      authed = true;
      client.on("session", (accept) => this.onSession(accept()));
      client.on("tcpip", (accept, reject, info) => forwarding.onDirect(accept, reject, info));
      client.on("request", (accept, reject, name, info) => forwarding.onRequest(accept, reject, name, info));
    });
  }

  private onSession(session: Session): void {
    let ptyInfo: { term: string; cols: number; rows: number } | null = null;
    const env: Record<string, string> = {};
    let ctl: Control | null = null;

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
      ctl?.resize?.(info.cols, info.rows);
      accept?.();
    });
    session.on("signal", (accept, _reject, info) => {
      ctl?.signal(info.name);
      accept?.();
    });
    // Agent and X11 forwarding are not offered; ssh carries on without them.
    session.on("auth-agent", (_accept, reject) => reject?.());
    session.on("x11", (_accept, reject) => reject?.());
    const opened = (channel: ServerChannel) => {
      this.channels.add(channel);
      channel.once("close", () => this.channels.delete(channel));
      return channel;
    };
    const run = (channel: ServerChannel, command: string | null) => {
      ctl = ptyInfo ? runPty(this.shellCtx, channel, command, ptyInfo, env) : runPipes(this.shellCtx, channel, shellArgv(this.shellCtx, command), env);
    };
    session.on("shell", (accept) => run(opened(accept()), null));
    session.on("exec", (accept, _reject, info) => run(opened(accept()), info.command));
    session.on("subsystem", (accept, reject, info) => {
      if (info.name !== "sftp") return reject();
      ctl = runSftp(this.shellCtx, opened(accept()), this.sftpServer, env);
    });
  }
}

function verifySignature(keyBlob: Buffer, data: Buffer, signature: Buffer, hashAlgo: string | undefined): boolean {
  const parsed = ssh2.utils.parseKey(keyBlob);
  if (parsed instanceof Error) return false;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key) return false;
  return key.verify(data, signature, hashAlgo) === true;
}
