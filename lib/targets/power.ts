// Stop and start for a workspace's compute target, as the routes ask it: only the
// embedded target is driven from here (an OpenSSH target reports its own boots).
//
// With several instances on one Postgres the embedded target runs on one of them (the
// leader, lib/leader.ts), but a request may land on any. An instance that does not
// run it asks over the event channel (target.power-request, by NOTIFY); the one that
// runs it does it and says so (target.power-done); the asking route answers then, with
// the target as it now is. Authorization happens where the request landed, before it
// is passed on, exactly as for a local one.
import { randomUUID } from "node:crypto";
import type { Db } from "@/db/client";
import { audit } from "@/lib/audit";
import { defaultBus, type EventBus, type MeshiaEvent } from "@/lib/events";
import { ApiError } from "@/lib/http/errors";
import { processGlobal } from "@/lib/global";
import { leaderPresent } from "@/lib/leader";
import type { Logger } from "@/lib/log";
import type { LocalCompute } from "./local/lifecycle";
import { findTarget, requireWorkspaceTarget, targetView, type TargetView } from "./registry";

/** The embedded targets this process runs, by target id (started by server.ts; see local-compute.ts). Type-only import: routes need not bundle ssh2 and node-pty. */
export const embeddedTargets = processGlobal("local-computes", () => new Map<string, LocalCompute>());
/** The leader election's name for the embedded target (server.ts). */
export const EMBEDDED_TARGET_LEADER = "local-target";
/** How long an asking instance waits for the one running the target (a start probes the sandbox and boots; a stop gives sessions a second). */
export const REMOTE_POWER_TIMEOUT_MS = 20_000;
const RETRY_AFTER_SECONDS = "5";

type PowerAction = "stop" | "start";

function localCompute(targetId: string): LocalCompute | undefined {
  return embeddedTargets.get().get(targetId);
}

async function embeddedTarget(db: Db, workspaceId: string, id: string) {
  const target = await requireWorkspaceTarget(db, workspaceId, id);
  if (target.kind !== "local") throw new ApiError("conflict", "Only the embedded target is stopped and started here; an OpenSSH target reports its own boots.");
  return target;
}

async function view(db: Db, id: string): Promise<TargetView> {
  return targetView((await findTarget(db, id))!);
}

/** Does it on the compute this process runs: stop ends every session ("compute stopped"); start boots it and audits the start. */
async function perform(db: Db, compute: LocalCompute, action: PowerAction, actor: string): Promise<void> {
  if (action === "stop") {
    await compute.stop(actor);
    return;
  }
  const was = compute.state;
  const state = await compute.start();
  if (was !== "running" && state === "running")
    await audit(db, { workspaceId: compute.workspaceId, actor, action: "target.started", detail: { targetId: compute.targetId } });
}

async function power(db: Db, workspaceId: string, id: string, action: PowerAction, actor: string): Promise<TargetView> {
  const target = await embeddedTarget(db, workspaceId, id);
  const compute = localCompute(target.id);
  if (compute) await perform(db, compute, action, actor);
  else await askTheLeader(db, defaultBus(), { targetId: target.id, workspaceId, action, actor });
  return view(db, target.id);
}

/** Ends every SSH connection and terminal session on the target ("compute stopped"). */
export function stopTarget(db: Db, workspaceId: string, id: string, actor: string): Promise<TargetView> {
  return power(db, workspaceId, id, "stop", actor);
}

/** Boots it: a new port (unless pinned) and boot id, the same host key and volume. */
export function startTarget(db: Db, workspaceId: string, id: string, actor: string): Promise<TargetView> {
  return power(db, workspaceId, id, "start", actor);
}

/**
 * Has the instance running the embedded target do `action`, and waits until it has.
 * 409 when no instance runs it; 503 (retry) when this one would not hear the answer
 * or none came in time.
 */
export async function askTheLeader(
  db: Db,
  bus: EventBus,
  req: { targetId: string; workspaceId: string; action: PowerAction; actor: string },
  timeoutMs = REMOTE_POWER_TIMEOUT_MS,
): Promise<void> {
  if (!bus.shared) throw new ApiError("conflict", "This server does not run the embedded target (MESHIA_LOCAL_TARGET is off).");
  const retry = { "Retry-After": RETRY_AFTER_SECONDS };
  if (!bus.heard) throw new ApiError("unavailable", "This server cannot reach the other instances right now; try again in a few seconds.", undefined, retry);
  if (!(await leaderPresent(db, EMBEDDED_TARGET_LEADER))) {
    throw new ApiError("conflict", "No server runs the embedded target right now (MESHIA_LOCAL_TARGET is off on every instance, or one is taking it over).");
  }
  const requestId = randomUUID();
  let unsubscribe: () => void = () => undefined;
  let timer: NodeJS.Timeout | undefined;
  // Listening before asking: the answer may come back within a millisecond.
  const answered = new Promise<"done" | "failed" | "no answer">((resolve) => {
    unsubscribe = bus.subscribe((e) => {
      if (e.type === "target.power-done" && e.requestId === requestId) resolve(e.ok ? "done" : "failed");
    });
    timer = setTimeout(() => resolve("no answer"), timeoutMs);
  });
  try {
    await bus.publish(db, { type: "target.power-request", requestId, ...req });
    const outcome = await answered;
    if (outcome === "failed") {
      throw new ApiError(
        "unavailable",
        `The server running the embedded target could not ${req.action} it (its log says why); try again in a few seconds.`,
        undefined,
        retry,
      );
    }
    if (outcome === "no answer") {
      throw new ApiError("unavailable", `The server running the embedded target did not answer in time; try again in a few seconds.`, undefined, retry);
    }
  } finally {
    unsubscribe();
    clearTimeout(timer);
  }
}

const serving = processGlobal<{ unsubscribe: (() => void) | null }>("embedded-power-requests", () => ({ unsubscribe: null }));

/**
 * On the instance that runs embedded targets: does what other instances ask for the
 * ones in `embeddedTargets`, and answers. Once per process (server.ts's leader start).
 */
export function serveRemotePowerRequests(db: Db, log: Pick<Logger, "info" | "error">, bus: EventBus = defaultBus()): () => void {
  const s = serving.get();
  if (s.unsubscribe) return s.unsubscribe;
  const handle = async (e: Extract<MeshiaEvent, { type: "target.power-request" }>) => {
    const compute = localCompute(e.targetId);
    // Not ours (another instance runs it, or we stopped leading): its runner answers.
    if (!compute || compute.workspaceId !== e.workspaceId) return;
    let ok = false;
    try {
      log.info({ targetId: e.targetId, action: e.action, actor: e.actor }, "embedded target power request from another instance");
      await perform(db, compute, e.action, e.actor);
      ok = true;
    } catch (err) {
      log.error({ err, targetId: e.targetId, action: e.action }, "could not do what another instance asked of the embedded target");
    }
    await bus
      .publish(db, { type: "target.power-done", requestId: e.requestId, targetId: e.targetId, workspaceId: e.workspaceId, ok })
      .catch((err: unknown) => log.error({ err, targetId: e.targetId }, "could not answer another instance's power request"));
  };
  const unsubscribe = bus.subscribe((e) => {
    if (e.type === "target.power-request") void handle(e);
  });
  s.unsubscribe = () => {
    unsubscribe();
    s.unsubscribe = null;
  };
  return s.unsubscribe;
}
