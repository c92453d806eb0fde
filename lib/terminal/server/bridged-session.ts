// Creates a terminal session on a workspace's target: the SSH side goes through
// the bridge (the target's own bridge credential, its pinned host key, an address
// the network policy allows), and the session is recorded for audit.
import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "@/db/client";
import { terminalSessions } from "@/db/schema";
import { config } from "@/lib/config";
import type { Logger } from "@/lib/log";
import { audit } from "@/lib/audit";
import { metrics } from "@/lib/metrics";
import { bridgePrivateKey } from "@/lib/ssh/bridge-credential";
import { BridgeConnectError, connectBridge, openShell, receiveWindow } from "@/lib/ssh/bridge";
import { resolveTargetAddress, TargetAddressRefused } from "@/lib/targets/network-policy";
import { hostKeyIsPinned } from "@/lib/targets/host-keys";
import { effectiveStatus, findTarget } from "@/lib/targets/registry";
import { SSH_USER } from "@/lib/targets/ssh-command";
import { sessionRegistry } from "./registry";
import type { TerminalSession } from "./session";
import type { TicketBinding } from "./tickets";

/** How often an open session's byte counts are written, so the audit shows them live. */
const COUNTS_EVERY_MS = 5_000;

export function createBridgedSession(db: Db, binding: TicketBinding, log: Logger): TerminalSession {
  const cfg = config();
  const { sessionId, workspaceId, targetId, actor, tokenId } = binding;
  const record = (what: string, p: Promise<unknown>) => p.catch((err: unknown) => log.error({ err, session: sessionId }, `could not record ${what}`));
  let countsTimer: NodeJS.Timeout | null = null;
  // What of the byte counts has been added to the metrics so far.
  const counted = { bytesIn: 0, bytesOut: 0 };
  const countBytes = () => {
    const c = session.counts;
    const m = metrics();
    m.terminalBytes.inc({ direction: "in" }, c.bytesIn - counted.bytesIn);
    m.terminalBytes.inc({ direction: "out" }, c.bytesOut - counted.bytesOut);
    Object.assign(counted, c);
  };

  const session: TerminalSession = sessionRegistry().create(
    sessionId,
    workspaceId,
    targetId,
    actor,
    {
      log,
      resumeBufferBytes: cfg.terminal.resumeBufferBytes,
      inputCapBytes: cfg.terminal.inputCapBytes,
      graceMs: cfg.terminal.graceMs,
      idleTimeoutMs: cfg.terminal.idleTimeoutMs,
      async connect(size) {
        const target = await findTarget(db, targetId);
        if (!target || target.workspaceId !== workspaceId) throw new Error("This compute target no longer exists.");
        if (target.status === "unavailable")
          throw new Error(`This compute target is unavailable: ${target.unavailableReason ?? ""} ${target.unavailableFix ?? ""}`.trim());
        if (effectiveStatus(target) !== "live" || !target.port) {
          throw new Error("This compute target is not running.");
        }
        // The embedded target is this server's own; every other target's address must be
        // one targets may be at, checked now, on the address we then connect to.
        let address = target.host;
        if (target.kind !== "local") {
          try {
            address = await resolveTargetAddress(target.host);
          } catch (err) {
            if (err instanceof TargetAddressRefused) throw new BridgeConnectError("address_refused", err.reason);
            throw new BridgeConnectError("dns", err instanceof Error ? err.message : String(err));
          }
        }
        const client = await connectBridge(
          { address, port: target.port, user: SSH_USER, isPinned: (key) => hostKeyIsPinned(target, key) },
          { privateKey: bridgePrivateKey(target) },
        );
        try {
          const channel = await openShell(client, size).catch((err: unknown) => {
            throw new BridgeConnectError("channel", err instanceof Error ? err.message : String(err));
          });
          const rw = receiveWindow(client, channel);
          if (!rw) log.warn({ session: sessionId }, "ssh2 internals changed: flow control falls back to pausing the stream");
          return { client, channel, ...(rw ? { window: rw } : {}) };
        } catch (err) {
          client.end();
          throw err;
        }
      },
      async targetIsLive() {
        const target = await findTarget(db, targetId);
        return !!target && effectiveStatus(target) === "live";
      },
      onConnectFailed() {
        metrics().sessionsFailed.inc();
        // The cause is in the server log (keyed by session id), not here: the audit is
        // readable by the workspace's owner, who may be the one probing someone's address.
        record("connect failure", audit(db, { workspaceId, actor, action: "terminal.connect-failed", detail: { targetId, sessionId } }));
      },
      onOpened() {
        record("session open", db.insert(terminalSessions).values({ id: sessionId, workspaceId, targetId, openedBy: actor }));
        metrics().sessionsOpened.inc();
        let last = "";
        countsTimer = setInterval(() => {
          countBytes();
          const c = session.counts;
          const now = `${c.bytesIn}/${c.bytesOut}`;
          if (now === last) return;
          last = now;
          record(
            "session byte counts",
            db
              .update(terminalSessions)
              .set({ bytesIn: c.bytesIn, bytesOut: c.bytesOut })
              .where(and(eq(terminalSessions.id, sessionId), isNull(terminalSessions.closedAt))),
          );
        }, COUNTS_EVERY_MS);
        countsTimer.unref();
      },
      onEnded(end) {
        if (countsTimer) clearInterval(countsTimer);
        countsTimer = null;
        countBytes();
        record(
          "session end",
          db
            .update(terminalSessions)
            .set({
              closedAt: new Date(),
              exitCode: end.exitCode,
              exitSignal: end.exitSignal,
              closeReason: end.reason,
              bytesIn: end.bytesIn,
              bytesOut: end.bytesOut,
            })
            .where(eq(terminalSessions.id, sessionId)),
        );
      },
    },
    tokenId,
  );
  return session;
}
