// A terminal socket that lands on an instance other than the one holding its
// session. The instance it landed on has done every check (origin, ticket, the
// ticket's principal, membership); it then forwards the WebSocket handshake to the
// owner's internal endpoint with a signed grant and, once the owner accepts, pipes
// the two TCP connections together: the owner's session speaks to the browser
// directly (frames, acks, resume offsets, flow control), and the hop only copies bytes.
import http from "node:http";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { processGlobal } from "@/lib/global";
import type { Logger } from "@/lib/log";
import { INTERNAL_GRANT_HEADER, INTERNAL_TERMINAL_PATH, internalKey, NonceCache, signGrant, verifyGrant, type Grant, type GrantRequest } from "./internal-auth";
import { instanceId, type SessionOwner } from "./instances";

const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Forwards an upgrade to the session's owner. `gone` is called (with the socket
 * untouched) when the owner cannot be reached or refuses: the caller answers the
 * browser itself.
 */
export function proxyToOwner(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  owner: SessionOwner,
  grant: Omit<GrantRequest, "to">,
  log: Logger,
  gone: (why: string) => void,
): void {
  let url: URL;
  try {
    url = new URL(INTERNAL_TERMINAL_PATH, owner.instanceUrl);
  } catch {
    gone("unusable instance URL");
    return;
  }
  let settled = false;
  const fail = (why: string) => {
    if (settled) return;
    settled = true;
    log.warn({ session: grant.sessionId, owner: owner.instanceId, url: owner.instanceUrl, why }, "could not reach the instance holding this terminal session");
    gone(why);
  };
  const upstream = http.request({
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port,
    path: url.pathname,
    method: "GET",
    timeout: CONNECT_TIMEOUT_MS,
    headers: {
      Connection: "Upgrade",
      Upgrade: "websocket",
      "Sec-WebSocket-Key": String(req.headers["sec-websocket-key"] ?? ""),
      "Sec-WebSocket-Version": String(req.headers["sec-websocket-version"] ?? "13"),
      [INTERNAL_GRANT_HEADER]: signGrant(internalKey(), { ...grant, to: owner.instanceId }),
    },
  });
  upstream.on("timeout", () => {
    if (settled) return;
    upstream.destroy();
    fail("timeout");
  });
  upstream.on("error", (err) => fail((err as NodeJS.ErrnoException).code ?? err.message));
  upstream.on("response", (res) => {
    res.resume();
    fail(`refused with ${res.statusCode}`);
  });
  upstream.on("upgrade", (res, up: Socket, upHead: Buffer) => {
    if (settled) {
      up.destroy();
      return;
    }
    settled = true;
    // The connect timeout must not outlive the handshake: an idle terminal is not a dead one.
    up.setTimeout(0);
    // The owner's 101 (its Sec-WebSocket-Accept answers the browser's own key) goes back as it came.
    let lines = `HTTP/1.1 101 ${res.statusMessage ?? "Switching Protocols"}\r\n`;
    for (let i = 0; i < res.rawHeaders.length; i += 2) lines += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`;
    socket.write(lines + "\r\n");
    if (upHead.length) socket.write(upHead);
    if (head.length) up.write(head);
    up.setNoDelay(true);
    (socket as Socket).setNoDelay?.(true);
    const end = () => {
      // The owner went away or the browser did: either way both ends close, and a
      // browser reconnects (to learn from the ticket route whether the owner is gone).
      up.destroy();
      socket.destroy();
    };
    up.on("error", end);
    socket.on("error", end);
    up.on("close", end);
    socket.on("close", end);
    socket.pipe(up);
    up.pipe(socket);
  });
  upstream.end();
}

const nonceCache = processGlobal("internal-nonces", () => new NonceCache());

function nonces(): NonceCache {
  return nonceCache.get();
}

/** On the owner: the grant of an internal upgrade, or why it is refused. */
export function acceptInternalUpgrade(req: IncomingMessage): { ok: true; grant: Grant } | { ok: false; reason: string } {
  return verifyGrant(internalKey(), req.headers[INTERNAL_GRANT_HEADER], instanceId(), nonces());
}
