// Port forwarding for one SSH connection, as sshd does it with its defaults:
// - direct-tcpip (`ssh -L`, `ssh -D`): connections to the target's own loopback;
// - tcpip-forward / cancel-tcpip-forward (`ssh -R`): listeners on the target's
//   loopback only (sshd's `GatewayPorts no`), never a privileged port (sshd refuses
//   those to users other than root), all closed with the connection.
// Sockets are opened by the sandbox's user (net-helper.ts), as sshd opens them as
// the logged-in user.
import net from "node:net";
import type { Connection, ServerChannel } from "ssh2";

const PRIVILEGED_BELOW = 1024;

export function isLoopback(host: string): boolean {
  if (host === "localhost" || host === "::1") return true;
  return net.isIPv4(host) && host.startsWith("127.");
}

/** Where a remote forward listens: the client's loopback choice, or IPv4 loopback (GatewayPorts no). */
function listenAddress(requested: string): string {
  if (requested === "::1") return "::1";
  if (net.isIPv4(requested) && requested.startsWith("127.")) return requested;
  return "127.0.0.1";
}

/**
 * Joins a TCP connection and a channel, half-closes included: when the socket's
 * peer is done sending, the channel gets EOF only. (A server-side ssh2 channel
 * sends CLOSE as soon as its writable side ends, which would cut off the answer
 * to a request whose sender half-closed, as `curl` and `nc -N` do.)
 */
function pipeBoth(sock: net.Socket, ch: ServerChannel): void {
  sock.on("error", () => ch.destroy());
  ch.on("error", () => sock.destroy());
  sock.pipe(ch, { end: false });
  sock.on("end", () => ch.eof());
  ch.pipe(sock);
  sock.on("close", () => ch.destroy());
  ch.on("close", () => sock.end()); // what was written still goes out
}

/** Who opens forwarded sockets: the sandbox's user (NetHelper), or anything alike in tests. */
export interface SocketOpener {
  connect(host: string, port: number): Promise<net.Socket>;
  listen(host: string, port: number): Promise<{ server: net.Server; port: number }>;
}

export class Forwarding {
  private readonly listeners = new Map<string, net.Server>();
  private closed = false;

  constructor(
    private readonly client: Connection,
    private readonly allowed: () => boolean,
    private readonly opener: SocketOpener,
  ) {}

  /** `ssh -L` / `-D`: a channel to a port on the target's loopback. */
  onDirect(accept: () => ServerChannel, reject: () => void, info: { destIP: string; destPort: number }): void {
    if (!this.allowed() || !isLoopback(info.destIP)) return reject();
    const host = info.destIP === "localhost" ? "127.0.0.1" : info.destIP;
    this.opener.connect(host, info.destPort).then(
      (sock) => {
        if (this.closed) return sock.destroy();
        pipeBoth(sock, accept());
      },
      () => reject(),
    );
  }

  /** Global requests: tcpip-forward and cancel-tcpip-forward; everything else is refused. */
  onRequest(accept: ((port?: number) => void) | undefined, reject: (() => void) | undefined, name: string, info: unknown): void {
    const req = info as { bindAddr?: string; bindPort?: number };
    const bindAddr = req.bindAddr ?? "";
    const bindPort = Number(req.bindPort ?? -1);
    if (name === "tcpip-forward" && this.allowed() && (bindPort === 0 || (bindPort >= PRIVILEGED_BELOW && bindPort <= 65535))) {
      return this.listen(bindAddr, bindPort, accept, reject);
    }
    if (name === "cancel-tcpip-forward") {
      const key = `${bindAddr}:${bindPort}`;
      const server = this.listeners.get(key);
      if (!server) return reject?.();
      this.listeners.delete(key);
      server.close();
      return accept?.();
    }
    reject?.();
  }

  private listen(bindAddr: string, bindPort: number, accept: ((port?: number) => void) | undefined, reject: (() => void) | undefined): void {
    this.opener.listen(listenAddress(bindAddr), bindPort).then(
      ({ server, port }) => {
        if (this.closed) return server.close();
        server.on("error", () => undefined);
        server.on("connection", (sock: net.Socket) => {
          sock.pause();
          this.client.forwardOut(bindAddr, port, sock.remoteAddress ?? "127.0.0.1", sock.remotePort ?? 0, (err, ch) => {
            if (err) return sock.destroy();
            pipeBoth(sock, ch);
            sock.resume();
          });
        });
        // The client cancels with what it asked for (port 0 included: it learns the real one from our reply).
        this.listeners.set(`${bindAddr}:${bindPort}`, server);
        if (bindPort === 0) this.listeners.set(`${bindAddr}:${port}`, server);
        accept?.(bindPort === 0 ? port : undefined);
      },
      () => reject?.(),
    );
  }

  close(): void {
    this.closed = true;
    for (const s of new Set(this.listeners.values())) s.close();
    this.listeners.clear();
  }
}
