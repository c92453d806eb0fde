// Benchmark clients for one shell on the embedded target, both speaking "bytes in,
// bytes out": through the product's bridge (ticket → WebSocket → binary protocol,
// acking every output frame at once, as xterm's write callback would) and directly
// with the ssh2 package and the workspace key (the baseline without the bridge).
import ssh2, { type ClientChannel } from "ssh2";
import WebSocket from "ws";
import { BRIDGE_ALGORITHMS } from "@/lib/ssh/bridge";
import { ProtocolClient } from "@/lib/terminal/testing/protocol-client";
import { authFor, getJson } from "./server";

export interface Shell {
  readonly kind: "bridge" | "direct" | "webssh2" | "relay";
  write(data: string | Buffer): void;
  /** Called with every output chunk (replaces the previous listener). */
  onData(fn: ((chunk: Buffer) => void) | null): void;
  close(): Promise<void>;
}

export interface Size {
  cols: number;
  rows: number;
}

export class BridgeShell implements Shell {
  readonly kind = "bridge";

  private constructor(
    private readonly client: ProtocolClient,
    readonly sessionId: string,
    private readonly base: string,
    private readonly workspaceId: string,
  ) {}

  static async open(base: string, workspaceId: string, targetId: string, size: Size, timeoutMs = 30_000): Promise<BridgeShell> {
    const t = await getJson<{ ticket: string; sessionId: string; path: string }>(`${base}/api/workspaces/${workspaceId}/terminal/tickets`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ targetId }),
    });
    // The socket must come from the ticket's holder: the same API token. Output is
    // acked at once and not kept: the listener (onData) is all that reads it.
    const client = ProtocolClient.connect(`${base.replace(/^http/, "ws")}${t.path}?ticket=${encodeURIComponent(t.ticket)}`, {
      headers: authFor(base),
      keep: "none",
    });
    const shell = new BridgeShell(client, t.sessionId, base, workspaceId);
    await client.opened();
    // The shell opens at the size of the first resize frame.
    client.resize(size.cols, size.rows);
    const failed = () => client.framesOf("error")[0] ?? client.framesOf("status").find((f) => f.state === "ended" || f.state === "expired");
    await client.until(() => client.status("live") || !!failed() || client.closed !== null, timeoutMs).catch(() => undefined);
    const f = failed();
    if (f) throw new Error(`session ${f.type === "error" ? `error:${f.code}:${f.message}` : f.state}`);
    if (!client.status("live")) throw new Error("session not live in time");
    return shell;
  }

  /** Bytes queued in this client's socket, not yet handed to the kernel (for floods that must not grow the client). */
  get bufferedAmount(): number {
    return this.client.ws.bufferedAmount;
  }

  /** Whether the socket is still open. */
  get open(): boolean {
    return this.client.ws.readyState === WebSocket.OPEN;
  }

  write(data: string | Buffer): void {
    this.client.send({ type: "input", data: typeof data === "string" ? Buffer.from(data) : data });
  }

  onData(fn: ((chunk: Buffer) => void) | null): void {
    this.client.onOutput = fn;
  }

  private closing: Promise<void> | null = null;

  /** Ends the session on the server (as closing the tab does), then the socket. Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= this.doClose());
  }

  private async doClose(): Promise<void> {
    await fetch(`${this.base}/api/workspaces/${this.workspaceId}/terminal/sessions/${this.sessionId}`, { method: "DELETE", headers: authFor(this.base) }).catch(
      () => undefined,
    );
    await Promise.race([this.client.close(), new Promise((r) => setTimeout(r, 2000))]);
    this.client.ws.terminate();
  }
}

export class DirectShell implements Shell {
  readonly kind = "direct";
  private listener: ((chunk: Buffer) => void) | null = null;

  private constructor(
    private readonly client: ssh2.Client,
    private readonly channel: ClientChannel,
    /** What the key exchange settled on, server to client: "aes128-gcm@openssh.com" (an AEAD cipher has no separate MAC). */
    readonly negotiated: string,
  ) {
    channel.on("data", (d: Buffer) => this.listener?.(d));
    channel.stderr.on("data", (d: Buffer) => this.listener?.(d));
  }

  static async open(target: { host: string; port: number }, privateKey: string, size: Size): Promise<DirectShell> {
    const client = new ssh2.Client();
    let negotiated = "?";
    client.once("handshake", (n) => (negotiated = n.sc.cipher + (n.sc.mac ? ` + ${n.sc.mac}` : "")));
    await new Promise<void>((resolve, reject) => {
      client.once("ready", () => resolve());
      client.once("error", reject);
      // Loopback to a target we just started: host key pinning is not what is measured here.
      // The bridge's own algorithms (lib/ssh/bridge.ts), so both paths decrypt the same way.
      client.connect({
        host: target.host,
        port: target.port,
        username: "mesh",
        privateKey,
        readyTimeout: 20_000,
        hostVerifier: () => true,
        algorithms: { cipher: [...BRIDGE_ALGORITHMS.cipher], hmac: [...BRIDGE_ALGORITHMS.hmac] },
      });
    });
    client.on("error", () => undefined);
    client.setNoDelay(true); // as the bridge does (lib/ssh/bridge.ts) and OpenSSH's client for interactive sessions
    const channel = await new Promise<ClientChannel>((resolve, reject) =>
      client.shell({ term: "xterm-256color", cols: size.cols, rows: size.rows, height: 0, width: 0 }, (err, ch) => (err ? reject(err) : resolve(ch))),
    );
    return new DirectShell(client, channel, negotiated);
  }

  write(data: string | Buffer): void {
    this.channel.write(data);
  }

  onData(fn: ((chunk: Buffer) => void) | null): void {
    this.listener = fn;
  }

  private closing: Promise<void> | null = null;

  close(): Promise<void> {
    return (this.closing ??= this.doClose());
  }

  private async doClose(): Promise<void> {
    const closed = new Promise<void>((r) => this.client.once("close", () => r()));
    this.client.end();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
  }
}

/**
 * Runs `command` in the shell and resolves once its end marker appears in the output;
 * `then` runs after the marker (e.g. `exec cat`). The marker is printed as
 * `tag$((1+1))END` so that the echoed command line itself never matches.
 * Time is measured from sending the command line.
 */
export async function runUntilMarker(shell: Shell, command: string, timeoutMs: number, then = ""): Promise<{ bytes: number; ms: number }> {
  const tag = `MB${Math.random().toString(36).slice(2, 8)}`;
  const marker = Buffer.from(`${tag}2END`);
  let tail = Buffer.alloc(0);
  let bytes = 0;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      shell.onData(null);
      reject(new Error(`no marker after ${timeoutMs} ms (${bytes} bytes seen)`));
    }, timeoutMs);
    shell.onData((chunk) => {
      bytes += chunk.length;
      const hay = Buffer.concat([tail, chunk.subarray(Math.max(0, chunk.length - 256))]);
      if (hay.includes(marker)) {
        clearTimeout(timer);
        shell.onData(null);
        resolve({ bytes, ms: performance.now() - t0 });
        return;
      }
      tail = hay.subarray(Math.max(0, hay.length - marker.length));
    });
    shell.write(`${command}; echo ${tag}$((1+1))END${then ? `; ${then}` : ""}\n`);
  });
}

/**
 * Echo round trips: `cat` on a raw tty (no kernel echo, no line buffering) echoes
 * each byte it reads, as a shell's line editor would; one character at a time, each
 * waiting for its echo. The shell is spent afterwards (cat replaced it): pass
 * `catRunning` to take more samples from the same shell.
 */
export async function echoRoundTrips(shell: Shell, samples: number, warmup = 20, catRunning = false): Promise<number[]> {
  if (!catRunning) {
    await runUntilMarker(shell, "stty raw -echo", 10_000, "exec cat");
    await new Promise((r) => setTimeout(r, 200)); // let cat start reading
  }
  const out: number[] = [];
  const alphabet = "abcdefghijklmnopqrstuvwxyz";
  for (let i = 0; i < samples + warmup; i++) {
    const ch = alphabet[i % alphabet.length]!;
    const t = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no echo for sample ${i}`)), 5000);
      const t0 = performance.now();
      shell.onData((chunk) => {
        if (chunk.includes(ch)) {
          clearTimeout(timer);
          resolve(performance.now() - t0);
        }
      });
      shell.write(ch);
    });
    if (i >= warmup) out.push(t);
  }
  shell.onData(null);
  return out;
}
