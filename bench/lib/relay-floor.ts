// bench:terminal's floor for the bridge: the least a WebSocket-to-SSH gateway can do,
// in a process of its own. Per WebSocket it opens one ssh2 shell on the target (the
// bridge's cipher list, Nagle off) and copies bytes both ways: binary frames in,
// every ssh2 chunk out as one frame, the channel paused while the socket holds more
// than 1 MiB. No tickets, protocol, acknowledgements, resume ring, screen keeping,
// audit or limits: measured with the same client and target as the bridge, it says
// how much of the bridge's cost is being a third process with an SSH client and a
// WebSocket on this machine, and how much is the product's own.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import WebSocket from "ws";
import { BRIDGE_ALGORITHMS } from "@/lib/ssh/bridge";
import { defer } from "./cleanup";
import { ROOT } from "./server";
import type { Shell, Size } from "./terminal-client";

const CODE = `
const { WebSocketServer } = require("ws");
const { Client } = require("ssh2");
const cfg = JSON.parse(process.env.RELAY_CONFIG);
const HIGH = 1024 * 1024;
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false, maxPayload: 1 << 20 });
wss.on("connection", (ws, req) => {
  const q = new URL(req.url, "http://x").searchParams;
  const ssh = new Client();
  ssh.on("error", () => ws.terminate());
  ssh.on("close", () => ws.close());
  ssh.on("ready", () => {
    ssh.setNoDelay(true);
    ssh.shell({ term: "xterm-256color", cols: Number(q.get("cols")), rows: Number(q.get("rows")) }, (err, ch) => {
      if (err) return ws.terminate();
      let paused = false;
      const sent = () => { if (paused && ws.bufferedAmount < HIGH / 2) { paused = false; ch.resume(); } };
      const out = (d) => {
        ws.send(d, { binary: true }, sent);
        if (!paused && ws.bufferedAmount > HIGH) { paused = true; ch.pause(); }
      };
      ch.on("data", out);
      ch.stderr.on("data", out);
      ch.on("close", () => ws.close());
      ws.on("message", (d) => ch.write(d));
    });
  });
  ws.on("close", () => ssh.end());
  ssh.connect({ host: cfg.host, port: cfg.port, username: "mesh", privateKey: cfg.key, hostVerifier: () => true, readyTimeout: 20000, algorithms: cfg.algorithms });
});
wss.on("listening", () => process.stdout.write(String(wss.address().port) + "\\n"));
`;

export interface RelayFloor {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts the relay for `target`, logging in as mesh with `privateKey` (held in the child's memory only). */
export async function startRelayFloor(target: { host: string; port: number }, privateKey: string): Promise<RelayFloor> {
  const child: ChildProcess = spawn(process.execPath, ["-e", CODE], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "production",
      NODE_PATH: path.join(ROOT, "node_modules"),
      RELAY_CONFIG: JSON.stringify({
        host: target.host,
        port: target.port,
        key: privateKey,
        algorithms: { cipher: [...BRIDGE_ALGORITHMS.cipher], hmac: [...BRIDGE_ALGORITHMS.hmac] },
      }),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    await once(child, "exit");
  };
  defer(stop);
  const [line] = (await Promise.race([
    once(child.stdout!, "data"),
    once(child, "exit").then(() => {
      throw new Error("the relay floor exited before listening");
    }),
  ])) as [Buffer];
  return { url: `ws://127.0.0.1:${Number(String(line).trim())}`, pid: child.pid!, stop };
}

export class RelayShell implements Shell {
  readonly kind = "relay";
  private listener: ((chunk: Buffer) => void) | null = null;

  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (d: Buffer) => this.listener?.(d));
  }

  static async open(relay: RelayFloor, size: Size): Promise<RelayShell> {
    const ws = new WebSocket(`${relay.url}/?cols=${size.cols}&rows=${size.rows}`, { perMessageDeflate: false });
    const shell = new RelayShell(ws);
    // Open once the shell's first output (the prompt) arrives.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("relay floor: no shell output within 30 s")), 30_000);
      ws.once("error", reject);
      ws.once("close", () => reject(new Error("relay floor: closed before the shell opened")));
      shell.listener = () => {
        clearTimeout(timer);
        shell.listener = null;
        resolve();
      };
    });
    ws.removeAllListeners("close");
    ws.on("error", () => undefined);
    return shell;
  }

  write(data: string | Buffer): void {
    this.ws.send(typeof data === "string" ? Buffer.from(data) : data, { binary: true });
  }

  onData(fn: ((chunk: Buffer) => void) | null): void {
    this.listener = fn;
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) {
      const closed = once(this.ws, "close");
      this.ws.close();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
    }
    this.ws.terminate();
  }
}
