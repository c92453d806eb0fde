// bench:terminal's optional third path (--webssh2 <dir>): webssh2, the usual open
// source gateway (xterm.js + socket.io + ssh2), as a yardstick for the bridge's own
// cost. It is not a dependency of this project: the caller installs it in a folder
// outside the repository (its source from github.com/billchurch/webssh2, its
// dependencies and socket.io-client from npm), and this file starts it from there
// with this project's tsx, and drives a session through its socket.io protocol
// (DOCS/api/WEBSOCKET-API.md there): `authenticate` with the workspace key, then
// `terminal` with the size; output arrives as `data` events, one per ssh2 chunk.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { BRIDGE_ALGORITHMS } from "@/lib/ssh/bridge";
import { defer } from "./cleanup";
import { ROOT } from "./server";
import { sleep } from "./stats";
import type { Shell, Size } from "./terminal-client";

/** Where webssh2 listens: a port none of the tests or other benches use. */
const WEBSSH2_PORT = 3360;

export interface WebSsh2Server {
  pid: number;
  url: string;
  /** Loads socket.io-client from webssh2's folder (it is not a dependency of this project). */
  io: SocketIoConnect;
  stop(): Promise<void>;
}

/** The part of socket.io-client's API used here. */
interface SocketIoSocket {
  on(event: string, fn: (...args: unknown[]) => void): void;
  off(event: string): void;
  emit(event: string, ...args: unknown[]): void;
  disconnect(): void;
  readonly connected: boolean;
}
type SocketIoConnect = (url: string, opts: Record<string, unknown>) => SocketIoSocket;

/**
 * Starts webssh2 from `dir` (its source and node_modules, socket.io-client included).
 * Its SSH client offers the bridge's own cipher list, so all three paths decrypt the
 * same way (webssh2's default puts chacha20-poly1305 first).
 */
export async function startWebSsh2(dir: string): Promise<WebSsh2Server> {
  const entry = path.join(dir, "index.ts");
  if (!existsSync(entry)) throw new Error(`--webssh2 ${dir}: no index.ts there (expected webssh2's source with its node_modules)`);
  const req = createRequire(path.join(dir, "package.json"));
  let io: SocketIoConnect;
  try {
    io = (req("socket.io-client") as { io: SocketIoConnect }).io;
  } catch {
    throw new Error(`--webssh2 ${dir}: socket.io-client is not installed there (npm install --no-save socket.io-client)`);
  }
  const tsx = pathToFileURL(path.join(ROOT, "node_modules/tsx/dist/loader.mjs")).href;
  let log = "";
  const child: ChildProcess = spawn(process.execPath, ["--import", tsx, entry], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: "production",
      WEBSSH2_LISTEN_IP: "127.0.0.1",
      WEBSSH2_LISTEN_PORT: String(WEBSSH2_PORT),
      WEBSSH2_SESSION_SECRET: "bench-terminal-webssh2-session-secret",
      WEBSSH2_SSH_ALGORITHMS_CIPHER: BRIDGE_ALGORITHMS.cipher.join(","),
      WEBSSH2_SSH_ALGORITHMS_HMAC: BRIDGE_ALGORITHMS.hmac.join(","),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  child.stderr!.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await Promise.race([exited, sleep(3000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  defer(stop);
  const url = `http://127.0.0.1:${WEBSSH2_PORT}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`webssh2 exited (${child.exitCode}):\n${log}`);
    const ok = await fetch(`${url}/ssh`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`webssh2 did not answer on ${url}/ssh:\n${log}`);
    await sleep(200);
  }
  return { pid: child.pid!, url, io, stop };
}

export class WebSsh2Shell implements Shell {
  readonly kind = "webssh2";
  private listener: ((chunk: Buffer) => void) | null = null;

  private constructor(private readonly socket: SocketIoSocket) {
    socket.on("data", (d: unknown) => {
      const chunk = Buffer.isBuffer(d) ? d : d instanceof ArrayBuffer ? Buffer.from(d) : Buffer.from(String(d));
      this.listener?.(chunk);
    });
  }

  /** A webssh2 session to `target` as mesh, logging in with `privateKey` (the workspace key, as the direct path does). */
  static async open(server: WebSsh2Server, target: { host: string; port: number }, privateKey: string, size: Size): Promise<WebSsh2Shell> {
    const socket = server.io(server.url, { path: "/ssh/socket.io", transports: ["websocket"], forceNew: true, reconnection: false });
    const shell = new WebSsh2Shell(socket);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("webssh2: no shell output within 30 s")), 30_000);
        const fail = (why: string) => {
          clearTimeout(timer);
          reject(new Error(`webssh2: ${why}`));
        };
        socket.on("connect_error", (e: unknown) => fail(`connect_error ${String(e)}`));
        socket.on("ssherror", (e: unknown) => fail(`ssherror ${String(e)}`));
        socket.on("authentication", (m: unknown) => {
          const msg = m as { action?: string; success?: boolean; message?: string };
          if (msg.action === "request_auth") {
            socket.emit("authenticate", {
              username: "mesh",
              host: target.host,
              port: target.port,
              privateKey,
              term: "xterm-256color",
              cols: size.cols,
              rows: size.rows,
            });
          } else if (msg.action === "auth_result" && !msg.success) {
            fail(`authentication refused: ${msg.message ?? "?"}`);
          }
        });
        socket.on("getTerminal", () => socket.emit("terminal", { cols: size.cols, rows: size.rows }));
        // The shell is open once its first output (the prompt) arrives.
        shell.listener = () => {
          clearTimeout(timer);
          shell.listener = null;
          resolve();
        };
      });
    } catch (err) {
      socket.disconnect();
      throw err;
    }
    socket.off("connect_error");
    return shell;
  }

  write(data: string | Buffer): void {
    this.socket.emit("data", typeof data === "string" ? data : data.toString("utf8"));
  }

  onData(fn: ((chunk: Buffer) => void) | null): void {
    this.listener = fn;
  }

  async close(): Promise<void> {
    if (this.socket.connected) this.socket.disconnect();
    await sleep(50);
  }
}
