// Who is asking: the one address every limit, the metrics check and better-auth key
// on. server.ts calls `trustForwarding` on every request and upgrade before anything
// else reads the headers.
import type { IncomingMessage } from "node:http";

/**
 * Leaves one address in X-Forwarded-For and returns it. Unless we sit behind a proxy
 * we trust, it is the socket's, and forwarded headers a client sent are not believed.
 * Behind one, it is the last hop, the one our proxy appended: the entries before it
 * are whatever the client wrote.
 */
export function trustForwarding(req: IncomingMessage, trustProxy: boolean): string {
  const socketAddress = req.socket.remoteAddress ?? "";
  if (trustProxy) {
    const hops = String(req.headers["x-forwarded-for"] ?? "")
      .split(",")
      .map((h) => h.trim())
      .filter(Boolean);
    return (req.headers["x-forwarded-for"] = hops.at(-1) ?? socketAddress);
  }
  req.headers["x-forwarded-for"] = socketAddress;
  delete req.headers["x-forwarded-proto"];
  return socketAddress;
}
