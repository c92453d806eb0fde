// Creates a terminal session on a workspace's target: the SSH side goes through
// the bridge (bridge key, pinned host key), and the session is recorded for audit.
import { eq } from "drizzle-orm";
import type { Db } from "@/db/client";
import { terminalSessions } from "@/db/schema";
import { config } from "@/lib/config";
import type { Logger } from "@/lib/log";
import { bridgeKey } from "@/lib/ssh/bridge-key";
import { connectBridge, openShell, receiveWindow } from "@/lib/ssh/bridge";
import { effectiveStatus, findTarget, hostKeyIsPinned } from "@/lib/targets/registry";
import { sessionRegistry } from "./registry";
import type { TerminalSession } from "./session";
import type { TicketBinding } from "./tickets";

export function createBridgedSession(db: Db, binding: TicketBinding, log: Logger): TerminalSession {
  const cfg = config();
  const { sessionId, workspaceId, targetId, actor } = binding;
  const record = (what: string, p: Promise<unknown>) => p.catch((err: unknown) => log.error({ err, session: sessionId }, `could not record ${what}`));

  return sessionRegistry().create(sessionId, workspaceId, targetId, actor, {
    log,
    resumeBufferBytes: cfg.terminal.resumeBufferBytes,
    graceMs: cfg.terminal.graceMs,
    idleTimeoutMs: cfg.terminal.idleTimeoutMs,
    async connect(size) {
      const target = await findTarget(db, targetId);
      if (!target || target.workspaceId !== workspaceId) throw new Error("This compute target no longer exists.");
      if (effectiveStatus(target, cfg.targetLiveWindowMs) !== "live" || !target.port) {
        throw new Error("This compute target is not running.");
      }
      const client = await connectBridge(
        { host: target.host, port: target.port, isPinned: (key) => hostKeyIsPinned(target, key) },
        { privateKey: bridgeKey().privateKey },
      );
      try {
        const channel = await openShell(client, size);
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
      return !!target && effectiveStatus(target, cfg.targetLiveWindowMs) === "live";
    },
    onOpened() {
      record("session open", db.insert(terminalSessions).values({ id: sessionId, workspaceId, targetId, openedBy: actor }));
    },
    onEnded(end) {
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
  });
}
