// HTTP clients for load benchmarks, chosen so that the client is not what is measured
// (client and server share the machine's 2 cores):
//   keepalive  one kept-alive TCP connection per concurrent caller, reused, with a
//              minimal HTTP/1.1 client on raw sockets (a proxy or a long-lived agent in
//              front of the control plane); the cheapest client there is
//   new        a new TCP connection per request, closed after the answer, as the shipped
//              AuthorizedKeysCommand's curl does at every login (same raw client)
//   http       node:http with a keep-alive Agent of as many sockets as callers
//   fetch      Node's global fetch (undici), what the benchmarks used first
// The raw client understands only what these benchmarks get: a status line, headers,
// and a body of Content-Length bytes (or up to the close).
import http from "node:http";
import net from "node:net";
import { performance } from "node:perf_hooks";

export const CLIENT_KINDS = ["keepalive", "new", "http", "fetch"] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

export interface Answer {
  ms: number;
  status: number;
  body: string;
}

export interface LoadClient {
  readonly kind: ClientKind;
  get(url: string, headers: Record<string, string>): Promise<Answer>;
  close(): void;
}

function requestBytes(url: URL, headers: Record<string, string>, close: boolean): Buffer {
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (close) lines.push("Connection: close");
  return Buffer.from(lines.join("\r\n") + "\r\n\r\n");
}

/** The status and body when `buf` holds a whole response, else null. `ended`: the server closed. */
function parseResponse(buf: Buffer, ended: boolean): { status: number; body: string } | null {
  const head = buf.indexOf("\r\n\r\n");
  if (head < 0) return null;
  const headers = buf.toString("latin1", 0, head);
  const status = Number(headers.slice(9, 12));
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(headers);
  const start = head + 4;
  if (m) {
    const end = start + Number(m[1]);
    return buf.length >= end ? { status, body: buf.toString("utf8", start, end) } : null;
  }
  return ended ? { status, body: buf.toString("utf8", start) } : null;
}

/** One request on `socket`; resolves when its response is whole. */
function exchange(socket: net.Socket, req: Buffer, close: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const done = (err: Error | null, r?: { status: number; body: string }) => {
      socket.off("data", onData).off("end", onEnd).off("error", onError);
      if (err) reject(err);
      else resolve(r!);
    };
    const onData = (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      const r = close ? null : parseResponse(buf, false);
      if (r) done(null, r);
    };
    const onEnd = () => {
      const r = parseResponse(buf, true);
      done(r ? null : new Error("connection closed before a whole response"), r ?? undefined);
    };
    const onError = (e: Error) => done(e);
    socket.on("data", onData).on("end", onEnd).on("error", onError);
    socket.write(req);
  });
}

function rawClient(kind: "keepalive" | "new"): LoadClient {
  const idle: net.Socket[] = [];
  const all = new Set<net.Socket>();
  const cache = new Map<string, { url: URL; req: Buffer }>();
  const connect = (url: URL) =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: url.hostname, port: Number(url.port || 80), noDelay: true }, () => {
        s.off("error", reject);
        resolve(s);
      });
      s.once("error", reject);
      all.add(s);
      s.once("close", () => all.delete(s));
    });
  return {
    kind,
    async get(href, headers) {
      const t0 = performance.now();
      const key = href + JSON.stringify(headers);
      let c = cache.get(key);
      if (!c) {
        const url = new URL(href);
        c = { url, req: requestBytes(url, headers, kind === "new") };
        if (cache.size < 1000) cache.set(key, c);
      }
      const socket = (kind === "keepalive" ? idle.pop() : undefined) ?? (await connect(c.url));
      const r = await exchange(socket, c.req, kind === "new");
      if (kind === "keepalive") idle.push(socket);
      else socket.destroy();
      return { ms: performance.now() - t0, ...r };
    },
    close() {
      for (const s of all) s.destroy();
    },
  };
}

export function loadClient(kind: ClientKind, sockets: number): LoadClient {
  if (kind === "keepalive" || kind === "new") return rawClient(kind);
  if (kind === "fetch") {
    return {
      kind,
      async get(url, headers) {
        const t0 = performance.now();
        const res = await fetch(url, { headers });
        const body = await res.text();
        return { ms: performance.now() - t0, status: res.status, body };
      },
      close() {},
    };
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  return {
    kind,
    get(url, headers) {
      const t0 = performance.now();
      return new Promise<Answer>((resolve, reject) => {
        const req = http.get(url, { agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          res.on("error", reject);
        });
        req.on("error", reject);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
