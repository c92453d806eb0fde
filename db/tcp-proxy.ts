// A TCP proxy for outage tests: between the app and Postgres, cut (listener closed,
// every connection destroyed, new ones refused) and restored on the same port.
import net from "node:net";

export class CuttableProxy {
  #server: net.Server | null = null;
  #sockets = new Set<net.Socket>();
  port = 0;

  constructor(readonly target: { host: string; port: number }) {}

  /** Starts listening (again): on a free port the first time, on the same port after a cut. */
  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on("close", () => this.#sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}
