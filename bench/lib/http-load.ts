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
// and a body of Content-Length bytes, chunked, or up to the close. `localAddress` binds
// its sockets to one source address (bench:abuse tells the flood from the probe by it).
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
  /** Any method; a POST without a body sends Content-Length: 0. Raw clients only. */
  request(method: string, url: string, headers: Record<string, string>, body?: string): Promise<Answer>;
  close(): void;
}

function requestBytes(method: string, url: URL, headers: Record<string, string>, close: boolean, body?: string): Buffer {
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (body !== undefined || (method !== "GET" && method !== "HEAD")) lines.push(`Content-Length: ${Buffer.byteLength(body ?? "")}`);
  if (close) lines.push("Connection: close");
  return Buffer.from(lines.join("\r\n") + "\r\n\r\n" + (body ?? ""));
}

/** A chunked body from `start`, when whole (through the last, empty chunk), else null. */
function dechunk(buf: Buffer, start: number): string | null {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const eol = buf.indexOf("\r\n", at);
    if (eol < 0) return null;
    const size = parseInt(buf.toString("latin1", at, eol), 16);
    if (!Number.isFinite(size)) throw new Error("bad chunk size");
    const end = eol + 2 + size;
    if (buf.length < end + 2) return null;
    if (size === 0) return Buffer.concat(parts).toString("utf8"); // no trailers in these answers
    parts.push(buf.subarray(eol + 2, end));
    at = end + 2;
  }
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
  if (/\r\ntransfer-encoding:\s*chunked/i.test(headers)) {
    const body = dechunk(buf, start);
    return body === null ? null : { status, body };
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

function rawClient(kind: "keepalive" | "new", localAddress?: string): LoadClient {
  const idle: net.Socket[] = [];
  const all = new Set<net.Socket>();
  const cache = new Map<string, { url: URL; req: Buffer }>();
  const connect = (url: URL) =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: url.hostname, port: Number(url.port || 80), noDelay: true, ...(localAddress ? { localAddress } : {}) }, () => {
        s.off("error", reject);
        resolve(s);
      });
      s.once("error", reject);
      all.add(s);
      s.once("close", () => all.delete(s));
    });
  const request = async (method: string, href: string, headers: Record<string, string>, body?: string): Promise<Answer> => {
    const t0 = performance.now();
    const key = method + href + JSON.stringify(headers) + (body ?? "");
    let c = cache.get(key);
    if (!c) {
      const url = new URL(href);
      c = { url, req: requestBytes(method, url, headers, kind === "new", body) };
      if (cache.size < 1000) cache.set(key, c);
    }
    let reused = kind === "keepalive" ? idle.pop() : undefined;
    // One the server has closed since (a Connection: close answer, an idle timeout) is dropped.
    while (reused && (reused.destroyed || !reused.writable || reused.readableEnded)) reused = idle.pop();
    const socket = reused ?? (await connect(c.url));
    const r = await exchange(socket, c.req, kind === "new").catch((err: unknown) => {
      socket.destroy();
      throw err;
    });
    if (kind === "keepalive") idle.push(socket);
    else socket.destroy();
    return { ms: performance.now() - t0, ...r };
  };
  return {
    kind,
    get: (href, headers) => request("GET", href, headers),
    request,
    close() {
      for (const s of all) s.destroy();
    },
  };
}

const rawOnly = (): Promise<Answer> => Promise.reject(new Error("request() is for the raw clients (keepalive, new)"));

export function loadClient(kind: ClientKind, sockets: number, opts: { localAddress?: string } = {}): LoadClient {
  if (kind === "keepalive" || kind === "new") return rawClient(kind, opts.localAddress);
  if (kind === "fetch") {
    return {
      kind,
      async get(url, headers) {
        const t0 = performance.now();
        const res = await fetch(url, { headers });
        const body = await res.text();
        return { ms: performance.now() - t0, status: res.status, body };
      },
      request: rawOnly,
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
    request: rawOnly,
    close() {
      agent.destroy();
    },
  };
}
