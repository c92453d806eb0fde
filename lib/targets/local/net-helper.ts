// Forwarded connections are opened by the sandbox's user, not by the server: one
// small Node process per boot runs in the sandbox (as `mesh` when we are root) and,
// asked over its IPC channel, connects (`-L`, `-D`) or listens (`-R`) and hands the
// socket or the listening server back (Node passes the descriptor). The kernel
// thus sees mesh's uid on every forwarded socket, and mesh's limits apply; the data
// then flows in the server without a copy through the helper.
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import type { Logger } from "@/lib/log";
import type { Sandbox } from "./sandbox";

// CommonJS on purpose: `node -e` needs no file, so nothing of the checkout (which
// may sit under a directory mesh cannot enter) has to be readable by the helper.
const HELPER_SOURCE = `
const net = require("net");
process.on("message", (m) => {
  const fail = (e) => process.send({ id: m.id, ok: false, error: (e && (e.code || e.message)) || "failed" });
  if (m.op === "connect") {
    const s = new net.Socket({ allowHalfOpen: true });
    s.pause(); // nothing may be read here: the bytes belong to whoever gets the socket
    s.once("error", fail);
    s.connect({ host: m.host, port: m.port }, () => {
      s.removeListener("error", fail);
      s.on("error", () => {});
      process.send({ id: m.id, ok: true }, s);
    });
  } else if (m.op === "listen") {
    const srv = net.createServer({ allowHalfOpen: true });
    srv.once("error", fail);
    srv.listen({ host: m.host, port: m.port, exclusive: true }, () => {
      process.send({ id: m.id, ok: true, port: srv.address().port }, srv, () => srv.close());
    });
  }
});
process.on("disconnect", () => process.exit(0));
process.send({ ready: true });
`;

const START_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

interface Pending {
  resolve(v: { handle: net.Socket | net.Server | undefined; port?: number }): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class NetHelper {
  private child: ChildProcess | null = null;
  private ready: Promise<ChildProcess> | null = null;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private warned = false;

  constructor(
    private readonly sandbox: Sandbox,
    private readonly volume: string,
    private readonly log: Logger,
    private readonly nodePath = process.execPath,
  ) {}

  /** A TCP connection opened by the sandbox's user. */
  async connect(host: string, port: number): Promise<net.Socket> {
    const { handle } = await this.request({ op: "connect", host, port });
    if (!(handle instanceof net.Socket)) throw new Error("the helper sent no socket");
    handle.allowHalfOpen = true; // a peer that is done sending still gets its answer
    return handle;
  }

  /** A listening server bound by the sandbox's user; connections are accepted here. */
  async listen(host: string, port: number): Promise<{ server: net.Server; port: number }> {
    const { handle, port: bound } = await this.request({ op: "listen", host, port });
    if (!(handle instanceof net.Server)) throw new Error("the helper sent no server");
    // Accepted sockets take the server's options: keep half-closed connections open.
    (handle as unknown as { allowHalfOpen: boolean }).allowHalfOpen = true;
    return { server: handle, port: bound ?? port };
  }

  /** Every request still waiting for the helper's answer fails with `message`. */
  private failPending(message: string): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error(message));
    }
    this.pending.clear();
  }

  stop(): void {
    const child = this.child;
    this.child = null;
    this.ready = null;
    this.failPending("the target stopped");
    if (child?.pid) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }
  }

  private async request(msg: { op: string; host: string; port: number }): Promise<{ handle: net.Socket | net.Server | undefined; port?: number }> {
    const child = await this.start();
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error("the forwarding helper did not answer"));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      child.send({ ...msg, id });
    });
  }

  private start(): Promise<ChildProcess> {
    if (this.ready) return this.ready;
    const launch = this.sandbox.wrap([this.nodePath, "-e", HELPER_SOURCE], this.volume);
    const child: ChildProcess = spawn(launch.file, launch.args, {
      cwd: this.volume,
      env: { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: this.volume } as unknown as NodeJS.ProcessEnv,
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      detached: true, // its own process group, killed as one on stop
      serialization: "json",
    });
    this.child = child;
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    this.ready = new Promise<ChildProcess>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the forwarding helper did not start")), START_TIMEOUT_MS);
      child.on("message", (m: { ready?: boolean; id?: number; ok?: boolean; error?: string; port?: number }, handle?: net.Socket | net.Server) => {
        if (m.ready) {
          clearTimeout(timer);
          return resolve(child);
        }
        const p = m.id === undefined ? undefined : this.pending.get(m.id);
        if (!p) {
          // Answered after its request timed out: nobody wants it.
          if (handle instanceof net.Server) handle.close();
          else handle?.destroy();
          return;
        }
        this.pending.delete(m.id!);
        clearTimeout(p.timer);
        if (m.ok) p.resolve({ handle, ...(m.port !== undefined ? { port: m.port } : {}) });
        else p.reject(Object.assign(new Error(m.error ?? "failed"), { code: m.error }));
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        if (this.child === child) {
          this.child = null;
          this.ready = null;
        }
        this.failPending("the forwarding helper exited");
        reject(new Error(`the forwarding helper exited (${code ?? signal}): ${stderr.trim()}`));
      });
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    this.ready.catch((err: unknown) => {
      // Forwarding fails closed: never from the server's own user. Said once per boot.
      if (!this.warned) {
        this.warned = true;
        this.log.error(
          { err: (err as Error).message, node: this.nodePath },
          "port forwarding is refused: its helper cannot run as the sandbox's user (is node readable and executable by mesh?)",
        );
      }
    });
    return this.ready;
  }
}
