// The browser's connection (TerminalConnection) in Node against a real terminal server:
// a real embedded target, real sessions, real WebSockets (`ws` stands in for the
// browser's WebSocket), and a small ticket endpoint that answers as the real one does.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { WebSocket } from "ws";
import { startTerminalTestServer, type TerminalTestServer } from "@/lib/terminal/testing/terminal-server";
import { TerminalConnection } from "./client-connection";
import type { ConnectionStatus } from "./status";

let srv: TerminalTestServer;
/** How the ticket endpoint answers: a ticket, or this refusal. */
let tickets: "ok" | 503 | 429 = "ok";
let ticketsAsked = 0;
const open: TerminalConnection[] = [];

function answer(res: import("node:http").ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers }).end(JSON.stringify(body));
}

beforeAll(async () => {
  srv = await startTerminalTestServer({ from: 25500, to: 25999 });
  srv.server.on("request", (req, res) => {
    const url = new URL(req.url!, "http://x");
    const del = url.pathname.match(/^\/api\/workspaces\/ws\/terminal\/sessions\/([^/]+)$/);
    if (del && req.method === "DELETE") {
      srv.sessions.get(del[1]!)?.close("closed by the person");
      return res.writeHead(204).end();
    }
    if (url.pathname !== "/api/workspaces/ws/terminal/tickets" || req.method !== "POST") return answer(res, 404, { error: { message: "no such route" } });
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      ticketsAsked++;
      if (tickets === 503) return answer(res, 503, { error: { code: "unavailable", message: "down for a moment" } });
      if (tickets === 429) return answer(res, 429, { error: { code: "rate_limited", message: "Too many open terminals." } }, { "Retry-After": "7" });
      const { sessionId } = JSON.parse(body) as { sessionId?: string };
      if (sessionId !== undefined && !srv.sessions.has(sessionId))
        return answer(res, 404, { error: { message: "This terminal session has ended or expired." } });
      const id = sessionId ?? srv.newSession().id;
      answer(res, 200, { ticket: id, sessionId: id, path: "/terminal", expiresAt: new Date(Date.now() + 30_000).toISOString() });
    });
  });
  // What the browser provides: a WebSocket, the page's location, fetch on relative URLs.
  const base = new URL(`http://127.0.0.1:${srv.port}/`);
  const realFetch = globalThis.fetch;
  vi.stubGlobal("WebSocket", WebSocket);
  vi.stubGlobal("location", base);
  vi.stubGlobal("fetch", (input: string, init?: RequestInit) => realFetch(new URL(input, base), init));
});
afterEach(() => {
  for (const c of open.splice(0)) c.dispose();
  tickets = "ok";
});
afterAll(async () => {
  vi.unstubAllGlobals();
  await srv?.stop();
});

/** A connection as the terminal view drives it; `ack: false` plays an xterm that never finishes parsing. */
function connect(opts: { sessionId?: string; ack?: boolean } = {}) {
  const seen = { statuses: [] as { at: number; status: ConnectionStatus }[], bytes: 0, text: "", received: 0, ack: opts.ack ?? true };
  const decoder = new TextDecoder();
  const conn = new TerminalConnection({
    workspaceId: "ws",
    targetId: "t",
    sessionId: opts.sessionId ?? null,
    events: {
      output(data, seq) {
        seen.bytes += data.byteLength;
        seen.text = (seen.text + decoder.decode(data, { stream: true })).slice(-20_000);
        seen.received = seq + data.byteLength;
        if (seen.ack) conn.processed(seen.received);
      },
      snapshot: () => undefined,
      status: (status) => seen.statuses.push({ at: Date.now(), status }),
      idleWarning: () => undefined,
      session: () => undefined,
    },
  });
  // The view fits the terminal before it starts the connection: the shell opens at that size.
  conn.resize(80, 24);
  open.push(conn);
  const kinds = () => seen.statuses.map((s) => s.status.kind);
  return { conn, seen, kinds };
}

async function until(pred: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("TerminalConnection", () => {
  it("holds keystrokes typed before the session is live and delivers them in order once it is", async () => {
    const { conn, seen } = connect();
    conn.resize(100, 30); // the latest size before the socket opens is the one sent
    conn.start();
    expect(conn.status.kind).toBe("connecting");
    conn.input("echo held-");
    conn.input(new TextEncoder().encode("$((6*7)) $(stty size)\r"));
    await until(() => seen.text.includes("held-42 30 100"), "the held line's output");
    expect(conn.status.kind).toBe("live");
  });

  it("acknowledges only what xterm has processed: unacknowledged output stops the shell, acknowledged output flows", async () => {
    const { conn, seen, kinds } = connect({ ack: false });
    conn.start();
    await until(() => kinds().includes("live"), "live");
    conn.input("head -c 4000000 /dev/zero | tr '\\0' x; echo; echo done-$((1+1))\r");
    await until(() => seen.bytes > 256 * 1024, "output");
    await sleep(1000);
    const stalled = seen.bytes;
    expect(stalled).toBeLessThan(2_000_000);
    await sleep(500);
    expect(seen.bytes).toBe(stalled);
    seen.ack = true;
    conn.processed(seen.received);
    await until(() => seen.text.includes("done-2"), "the rest of the output", 30_000);
    expect(seen.bytes).toBeGreaterThan(4_000_000);
  });

  it("retries failed ticket requests with doubling delays (and jitter) until Retry now, then starts again from the first delay", async () => {
    tickets = 503;
    const { conn, seen, kinds } = connect();
    conn.start();
    await until(() => seen.statuses.some((s) => s.status.kind === "reconnecting" && s.status.attempt === 3), "the third attempt", 10_000);
    const waits = seen.statuses.flatMap(({ at, status }) =>
      status.kind === "reconnecting" ? [{ attempt: status.attempt, wait: status.retryAt - at, reason: status.reason }] : [],
    );
    expect(waits.map((w) => w.attempt)).toEqual([1, 2, 3]);
    for (const { attempt, wait } of waits) {
      const base = 500 * 2 ** (attempt - 1);
      expect(wait).toBeGreaterThanOrEqual(base * 0.8 - 5);
      expect(wait).toBeLessThanOrEqual(base * 1.2 + 5);
    }
    expect(waits[0]!.reason).toBe("down for a moment");
    tickets = "ok";
    conn.retryNow();
    await until(() => kinds().includes("live"), "live after Retry now");
    // Live resets the backoff: the next failure waits the first delay again.
    srv.socketOf(conn.currentSessionId!)!.terminate();
    await until(() => kinds().filter((k) => k === "reconnecting").length === 4, "a reconnect after the drop");
    expect(seen.statuses.at(-1)!.status).toMatchObject({ kind: "reconnecting", attempt: 1 });
  });

  it("resumes after a dropped socket with the output printed meanwhile, each byte exactly once", async () => {
    const { conn, seen, kinds } = connect();
    conn.start();
    await until(() => kinds().includes("live"), "live");
    const session = conn.currentSessionId!;
    conn.input("for i in $(seq 1 30); do echo line-$i; sleep 0.05; done\r");
    await until(() => seen.text.includes("line-5\r\n"), "the first lines");
    srv.socketOf(session)!.terminate();
    await until(() => seen.text.includes("line-30\r\n"), "the last line");
    expect(kinds()).toContain("reconnecting");
    expect(conn.currentSessionId).toBe(session);
    const numbered = seen.text
      .split("\r\n")
      .map((l) => l.replace(/\x1b\[[?\d;]*[a-zA-Z]|\r/g, "")) // the shell's mode switches around a command
      .filter((l) => /^line-\d+$/.test(l))
      .map((l) => Number(l.slice(5)));
    expect(numbered).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it("is limited, not retried by itself, over a per-person cap; Try again works once there is room", async () => {
    tickets = 429;
    const { conn, seen, kinds } = connect();
    const asked = ticketsAsked;
    conn.start();
    await until(() => kinds().includes("limited"), "limited");
    const limited = seen.statuses.at(-1)!;
    expect(limited.status).toMatchObject({ kind: "limited", detail: "Too many open terminals." });
    expect((limited.status as { retryAt: number }).retryAt - limited.at).toBeGreaterThan(6_000);
    await sleep(1500);
    expect(ticketsAsked).toBe(asked + 1);
    tickets = "ok";
    conn.retryNow();
    await until(() => kinds().includes("live"), "live after Try again");
  });

  it("a session that is gone is expired on resume; close() ends the session on the server", async () => {
    const gone = connect({ sessionId: crypto.randomUUID() });
    gone.conn.start();
    await until(() => gone.kinds().includes("expired"), "expired");

    const { conn, kinds } = connect();
    conn.start();
    await until(() => kinds().includes("live"), "live");
    const session = conn.currentSessionId!;
    expect(srv.sessions.has(session)).toBe(true);
    await conn.close();
    await until(() => !srv.sessions.has(session), "the session to end on the server");
  });
});
