// A terminal server for tests: a real embedded target (sandboxed shells), the real
// bridge (ssh2 client, pinned host key) and real WebSockets with the gateway's own
// socket settings. The test makes the sessions (`newSession`); a socket binds to one
// by `?id=` or, as the browser's connection asks, by `?ticket=` (tests use the
// session id as the ticket), resuming from `?resume=`.
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import type { WebSocket } from "ws";
import { parsePublicKeyLine } from "@/lib/keys/fingerprint";
import { loadOrCreateKeyFile, type KeyFile } from "@/lib/keys/key-file";
import { connectBridge, openShell } from "@/lib/ssh/bridge";
import { LocalTarget } from "@/lib/targets/local/server";
import { sandboxForTests } from "@/lib/targets/local/testing";
import { terminalSocketServer } from "@/lib/terminal/server/gateway";
import { TerminalSession } from "@/lib/terminal/server/session";
import type { SessionDeps } from "@/lib/terminal/server/session-deps";

export interface TestSessionOptions {
  ring?: number;
  pinned?: Buffer;
  idleMs?: number;
  inputCap?: number;
  onConnectFailed?: SessionDeps["onConnectFailed"];
}

export interface TerminalTestServer {
  /** The HTTP server the sockets upgrade on: tests may answer requests on it too. */
  server: http.Server;
  port: number;
  target: LocalTarget;
  hostKey: KeyFile;
  sessions: Map<string, TerminalSession>;
  newSession(opts?: TestSessionOptions): TerminalSession;
  /** The socket last attached to a session (to break it as a network would). */
  socketOf(sessionId: string): WebSocket | undefined;
  stop(): Promise<void>;
}

/** `ports`: the range the embedded target picks its port from (one per test file, so files can run side by side). */
export async function startTerminalTestServer(ports: { from: number; to: number }): Promise<TerminalTestServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "meshia-terminal-"));
  const log = pino({ level: "silent" });
  const hostKey = loadOrCreateKeyFile(path.join(dir, "host"), "host");
  const bridge = loadOrCreateKeyFile(path.join(dir, "bridge"), "bridge");
  const { sandbox, volume } = await sandboxForTests(dir);
  const target = new LocalTarget({
    listenHost: "127.0.0.1",
    ports,
    hostKey,
    volume,
    sandbox,
    log,
    allowedKeys: async () => [{ blob: parsePublicKeyLine(bridge.publicKey)!.blob, options: null }],
  });
  await target.start();
  const sessions = new Map<string, TerminalSession>();
  const sockets = new Map<string, WebSocket>();
  const wss = terminalSocketServer();
  const server = http.createServer();
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url!, "http://x");
    const session = sessions.get(url.searchParams.get("id") ?? url.searchParams.get("ticket") ?? "");
    if (!session) return socket.destroy();
    const resume = url.searchParams.get("resume");
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.set(session.id, ws);
      session.attach(ws, resume === null ? null : Number(resume));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;

  const newSession = (opts: TestSessionOptions = {}): TerminalSession => {
    const id = crypto.randomUUID();
    const pinned = opts.pinned ?? parsePublicKeyLine(hostKey.publicKey)!.blob;
    const s = new TerminalSession(id, "ws", "t", {
      log,
      resumeBufferBytes: opts.ring ?? 1024 * 1024,
      ...(opts.inputCap ? { inputCapBytes: opts.inputCap } : {}),
      graceMs: 60_000,
      idleTimeoutMs: opts.idleMs ?? 0,
      async connect(size) {
        const at = { address: "127.0.0.1", port: target.port, user: "mesh", isPinned: (k: Buffer) => k.equals(pinned) };
        const client = await connectBridge(at, { privateKey: bridge.privateKey });
        return { client, channel: await openShell(client, size) };
      },
      targetIsLive: async () => true,
      ...(opts.onConnectFailed ? { onConnectFailed: opts.onConnectFailed } : {}),
      onDisposed: () => {
        sessions.delete(id);
        sockets.delete(id);
      },
    });
    sessions.set(id, s);
    return s;
  };

  return {
    server,
    port,
    target,
    hostKey,
    sessions,
    newSession,
    socketOf: (id) => sockets.get(id),
    async stop() {
      for (const s of sessions.values()) s.close("test over");
      await target.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
