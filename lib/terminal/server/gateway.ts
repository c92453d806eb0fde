// The terminal WebSocket endpoint. Upgrades on TERMINAL_PATH need a same-origin
// handshake and a valid single-use ticket, or they are refused (403) before any
// socket is opened. Next's own upgrades (/_next/*) are left alone; anything else is destroyed.
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { appDb } from "@/db/client";
import { fromNodeHeaders } from "better-auth/node";
import { principalFrom } from "@/lib/auth/principal";
import { errorBody } from "@/lib/http/errors";
import { clusterEnabled, findOwnedElsewhere, OWNER_GONE_MESSAGE } from "@/lib/terminal/cluster/instances";
import { INTERNAL_TERMINAL_PATH } from "@/lib/terminal/cluster/internal-auth";
import { acceptInternalUpgrade, proxyToOwner } from "@/lib/terminal/cluster/terminal-proxy";
import { isDraining } from "@/lib/health";
import { originAllowed } from "@/lib/http/origin";
import { metrics } from "@/lib/metrics";
import { roleIn } from "@/lib/workspaces/workspaces";
import type { Logger } from "@/lib/log";
import { createBridgedSession } from "./bridged-session";
import { MAX_FRAME_BYTES, TERMINAL_PATH } from "../protocol";
import { sessionRegistry } from "./registry";
import { endSocket } from "./output";
import { consumeTicket, type TicketBinding } from "./tickets";

const EXPIRED = "This terminal session has ended or expired.";

const REFUSALS = {
  400: { code: "bad_request", reason: "Bad Request" },
  403: { code: "forbidden", reason: "Forbidden" },
  503: { code: "unavailable", reason: "Service Unavailable" },
} as const;

function refuse(socket: Duplex, status: keyof typeof REFUSALS, message: string): void {
  const { code, reason } = REFUSALS[status];
  const body = JSON.stringify(errorBody(code, message));
  const retry = status === 503 ? "Retry-After: 5\r\n" : "";
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n${retry}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * The terminal sockets' server, as the gateway runs it (tests bind sessions to it too).
 * maxPayload above our frame limit so an oversized frame reaches the protocol check
 * and gets an error frame, not just a dropped connection. No compression: terminal
 * output is mostly small frames where deflate costs CPU per frame for little gain.
 */
export function terminalSocketServer(): WebSocketServer {
  return new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES * 4, perMessageDeflate: false });
}

export function attachTerminalGateway(server: Server, log: Logger): WebSocketServer {
  const wss = terminalSocketServer();

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      socket.destroy(); // an unparseable request target: nothing to answer
      return;
    }
    if (url.pathname.startsWith("/_next/")) return; // Next's HMR socket
    if (url.pathname === INTERNAL_TERMINAL_PATH) return internalUpgrade(req, socket, head);
    if (url.pathname !== TERMINAL_PATH) {
      socket.destroy();
      return;
    }
    socket.on("error", () => undefined);
    if (isDraining()) return refuse(socket, 503, "This Meshia instance is shutting down; try again to reach another.");
    if (!originAllowed(req.headers.origin, req.headers.host, req.headers["x-forwarded-proto"] as string | undefined)) {
      log.warn({ origin: req.headers.origin }, "terminal handshake refused: cross-origin");
      return refuse(socket, 403, "Cross-origin terminal connections are not allowed.");
    }
    const resumeParam = url.searchParams.get("resume");
    const resumeFrom = resumeParam === null ? null : Number(resumeParam);
    if (resumeFrom !== null && !(Number.isSafeInteger(resumeFrom) && resumeFrom >= 0)) {
      return refuse(socket, 400, "resume must be a non-negative integer offset.");
    }
    const upgrade = (binding: TicketBinding) =>
      wss.handleUpgrade(req, socket, head, (ws) => {
        void (async () => {
          let session = sessionRegistry().ownedBy(binding.sessionId, binding.workspaceId, binding.actor);
          if (!session && binding.isNew && !sessionRegistry().get(binding.sessionId)) session = createBridgedSession(await appDb(), binding, log);
          if (!session || session.targetId !== binding.targetId) {
            return endSocket(ws, "expired", EXPIRED);
          }
          session.attach(ws, binding.isNew ? null : resumeFrom);
        })().catch((err: unknown) => {
          log.error({ err }, "terminal attach failed");
          ws.terminate();
        });
      });
    void (async () => {
      // Consumed in the database: a ticket issued by any instance works here, once.
      const binding = await consumeTicket(await appDb(), url.searchParams.get("ticket"));
      if (!binding) return refuse(socket, 403, "The terminal ticket is missing, expired or already used.");
      // The ticket is not enough on its own: the socket must come from the same,
      // still signed-in principal (the same browser session kind, or the very API
      // token the ticket was issued to, still scoped to this workspace), who must
      // still be a member of the workspace.
      const principal = await principalFrom(fromNodeHeaders(req.headers));
      const samePrincipal =
        !!principal &&
        principal.userId === binding.actor &&
        principal.via === binding.via &&
        (principal.tokenId ?? null) === binding.tokenId &&
        (principal.tokenWorkspaceId === undefined || principal.tokenWorkspaceId === binding.workspaceId);
      if (!samePrincipal || !(await roleIn(await appDb(), binding.workspaceId, principal.userId))) {
        log.warn({ workspace: binding.workspaceId }, "terminal handshake refused: not signed in as the ticket's holder");
        return refuse(socket, 403, "Sign in as the member this ticket was issued to.");
      }
      // A session held by another instance (Postgres, several instances): the socket
      // is proxied there, with everything checked above vouched for by a signed grant.
      if (!binding.isNew && clusterEnabled() && !sessionRegistry().get(binding.sessionId)) {
        const owner = await findOwnedElsewhere(await appDb(), binding.sessionId, binding.workspaceId, binding.actor, binding.targetId);
        if (owner) {
          const gone = () => {
            metrics().terminalProxied.inc({ outcome: "owner-gone" });
            endWith(req, socket, head, "expired", OWNER_GONE_MESSAGE);
          };
          if (!owner.alive) return gone();
          const grant = {
            sessionId: binding.sessionId,
            workspaceId: binding.workspaceId,
            targetId: binding.targetId,
            userId: binding.actor,
            resume: resumeFrom,
          };
          metrics().terminalProxied.inc({ outcome: "proxied" });
          return proxyToOwner(req, socket, head, owner, grant, log, gone);
        }
      }
      upgrade(binding);
    })().catch((err: unknown) => {
      log.error({ err }, "terminal handshake failed");
      refuse(socket, 503, "Meshia cannot open terminals right now; try again shortly.");
    });
  });

  /** Opens the socket only to tell the browser how its session ended. */
  function endWith(req: IncomingMessage, socket: Duplex, head: Buffer, state: "expired", detail: string): void {
    wss.handleUpgrade(req, socket, head, (ws) => {
      endSocket(ws, state, detail);
    });
  }

  /**
   * Another instance forwards a socket for a session this one holds. Only a grant
   * signed with the instances' shared key, for this instance, unexpired and unused,
   * gets in; origin, ticket and principal were checked where the socket landed.
   */
  function internalUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => undefined);
    const verdict = clusterEnabled() ? acceptInternalUpgrade(req) : ({ ok: false, reason: "single instance" } as const);
    if (!verdict.ok) {
      metrics().terminalProxied.inc({ outcome: "internal-refused" });
      log.warn({ reason: verdict.reason, from: req.socket.remoteAddress }, "internal terminal connection refused");
      return refuse(socket, 403, "This endpoint is for Meshia instances only.");
    }
    const g = verdict.grant;
    wss.handleUpgrade(req, socket, head, (ws) => {
      const session = sessionRegistry().ownedBy(g.sessionId, g.workspaceId, g.userId);
      if (!session || session.targetId !== g.targetId) {
        return endSocket(ws, "expired", EXPIRED);
      }
      session.attach(ws, g.resume);
    });
  }
  return wss;
}
