// Several control-plane instances on one Postgres: each has an id and an internal
// URL, writes a heartbeat row, and records which terminal sessions it holds, so that
// a socket landing on another instance can be proxied to the owner
// (lib/terminal/cluster/terminal-proxy.ts). An instance whose heartbeat stopped is gone: its
// rows are removed and its sessions' audit records closed, by whichever instance
// notices first. On PGlite (one process) none of this runs.
import { randomUUID } from "node:crypto";
import os from "node:os";
import { and, eq, inArray, isNull, lt, sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { controlPlaneInstances, terminalSessionOwners, terminalSessions } from "@/db/schema";
import { processGlobal } from "@/lib/global";
import type { Logger } from "@/lib/log";
import { sessionRegistry, type RegistryEntry } from "@/lib/terminal/server/registry";

/** What the browser is told when the instance holding its session is gone. */
export const OWNER_GONE_MESSAGE = "The server holding this session went away; start a new session to continue.";
const HEARTBEAT_MS = 5_000;

interface ClusterState {
  enabled: boolean;
  instanceId: string;
  url: string;
  deadAfterMs: number;
}

const clusterState = processGlobal<ClusterState>("cluster", () => ({ enabled: false, instanceId: randomUUID(), url: "", deadAfterMs: 15_000 }));

function state(): ClusterState {
  return clusterState.get();
}

/** Whether this instance shares its database with others (Postgres) and has joined. */
export function clusterEnabled(): boolean {
  return state().enabled;
}

export function instanceId(): string {
  return state().instanceId;
}

/**
 * The URL other instances reach this one at: MESHIA_INSTANCE_URL, else HOST and the
 * port when HOST is an address others can use, else this machine's first
 * non-loopback IPv4 address (a pod's IP in Kubernetes).
 */
export function deriveInstanceUrl(configured: string | undefined, host: string, port: number, nets = os.networkInterfaces()): string {
  if (configured) return configured;
  const wildcard = host === "0.0.0.0" || host === "::" || host === "[::]";
  if (!wildcard) return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  for (const list of Object.values(nets)) {
    for (const n of list ?? []) if (n.family === "IPv4" && !n.internal) return `http://${n.address}:${port}`;
  }
  return `http://127.0.0.1:${port}`;
}

export interface SessionOwner {
  sessionId: string;
  instanceId: string;
  instanceUrl: string;
  userId: string | null;
  workspaceId: string;
  targetId: string;
  /** This instance holds it. */
  self: boolean;
  /** The owner's heartbeat is recent (it may still have died a moment ago: the proxy finds out). */
  alive: boolean;
}

/** Which instance holds a session, if any instance recorded it. */
export async function findSessionOwner(db: Db, sessionId: string): Promise<SessionOwner | null> {
  const s = state();
  const [row] = await db
    .select({
      sessionId: terminalSessionOwners.sessionId,
      instanceId: terminalSessionOwners.instanceId,
      instanceUrl: terminalSessionOwners.instanceUrl,
      userId: terminalSessionOwners.userId,
      workspaceId: terminalSessionOwners.workspaceId,
      targetId: terminalSessionOwners.targetId,
      heartbeatAt: controlPlaneInstances.heartbeatAt,
    })
    .from(terminalSessionOwners)
    .leftJoin(controlPlaneInstances, eq(controlPlaneInstances.id, terminalSessionOwners.instanceId))
    .where(eq(terminalSessionOwners.sessionId, sessionId))
    .limit(1);
  if (!row) return null;
  const { heartbeatAt, ...rest } = row;
  return { ...rest, self: row.instanceId === s.instanceId, alive: !!heartbeatAt && Date.now() - heartbeatAt.getTime() < s.deadAfterMs };
}

/** The session as its owner's row says, when it belongs to this user in this workspace on this target. */
export async function findOwnedElsewhere(
  db: Db,
  sessionId: string,
  workspaceId: string,
  userId: string | null,
  targetId?: string,
): Promise<SessionOwner | null> {
  if (!clusterEnabled()) return null;
  const owner = await findSessionOwner(db, sessionId);
  if (!owner || owner.self || owner.workspaceId !== workspaceId || owner.userId !== userId) return null;
  if (targetId !== undefined && owner.targetId !== targetId) return null;
  return owner;
}

/** Sessions a person holds on the other live instances (0 when alone). */
export async function countSessionsElsewhere(db: Db, userId: string): Promise<number> {
  const s = state();
  if (!s.enabled) return 0;
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(terminalSessionOwners)
    .innerJoin(controlPlaneInstances, eq(controlPlaneInstances.id, terminalSessionOwners.instanceId))
    .where(
      and(
        eq(terminalSessionOwners.userId, userId),
        sql`${terminalSessionOwners.instanceId} <> ${s.instanceId}`,
        sql`${controlPlaneInstances.heartbeatAt} > now() - make_interval(secs => ${s.deadAfterMs / 1000})`,
      ),
    );
  return row?.n ?? 0;
}

/**
 * Removes instances whose heartbeat stopped, with their session rows, and closes
 * those sessions' audit records. Returns how many instances were gone.
 */
export async function reapDeadInstances(db: Db, deadAfterMs: number, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - deadAfterMs);
  const dead = await db.select({ id: controlPlaneInstances.id }).from(controlPlaneInstances).where(lt(controlPlaneInstances.heartbeatAt, cutoff));
  if (!dead.length) return 0;
  const ids = dead.map((d) => d.id);
  await db.transaction(async (tx) => {
    const owned = await tx.select({ id: terminalSessionOwners.sessionId }).from(terminalSessionOwners).where(inArray(terminalSessionOwners.instanceId, ids));
    if (owned.length) {
      await tx
        .update(terminalSessions)
        .set({ closedAt: now, closeReason: "The server holding this session went away." })
        .where(
          and(
            inArray(
              terminalSessions.id,
              owned.map((o) => o.id),
            ),
            isNull(terminalSessions.closedAt),
          ),
        );
    }
    // Session rows go with their instance (ON DELETE CASCADE).
    await tx.delete(controlPlaneInstances).where(inArray(controlPlaneInstances.id, ids));
  });
  return ids.length;
}

export interface Cluster {
  instanceId: string;
  url: string;
  stop(): Promise<void>;
}

/**
 * Joins the cluster (Postgres only): writes this instance's row, records every
 * session the registry holds now and later, beats every 5 s, and reaps the dead.
 */
export async function joinCluster(db: Db, log: Logger, opts: { url: string; deadAfterMs: number }): Promise<Cluster> {
  const s = state();
  s.url = opts.url;
  s.deadAfterMs = opts.deadAfterMs;
  const id = s.instanceId;
  const record = (what: string, p: Promise<unknown>) => p.catch((err: unknown) => log.warn({ err, instance: id }, `could not record ${what}`));

  const claim = (e: RegistryEntry) =>
    db
      .insert(terminalSessionOwners)
      .values({
        sessionId: e.session.id,
        instanceId: id,
        instanceUrl: s.url,
        userId: e.userId,
        workspaceId: e.session.workspaceId,
        targetId: e.session.targetId,
      })
      .onConflictDoUpdate({ target: terminalSessionOwners.sessionId, set: { instanceId: id, instanceUrl: s.url, lastSeenAt: sql`now()` } });
  const register = () =>
    db
      .insert(controlPlaneInstances)
      .values({ id, internalUrl: s.url })
      .onConflictDoUpdate({ target: controlPlaneInstances.id, set: { internalUrl: s.url, heartbeatAt: sql`now()` } });

  await register();
  s.enabled = true;
  const unlisten = sessionRegistry().listen({
    added: (e) => void record("session owner", claim(e)),
    removed: (e) =>
      void record(
        "session owner removal",
        db.delete(terminalSessionOwners).where(and(eq(terminalSessionOwners.sessionId, e.session.id), eq(terminalSessionOwners.instanceId, id))),
      ),
  });
  for (const e of sessionRegistry().entries()) await record("session owner", claim(e));
  log.info({ instance: id, url: s.url }, "joined the instances on this database");

  let beating = false;
  const beat = async () => {
    if (beating) return;
    beating = true;
    try {
      const updated = await db
        .update(controlPlaneInstances)
        .set({ heartbeatAt: sql`now()` })
        .where(eq(controlPlaneInstances.id, id))
        .returning({ id: controlPlaneInstances.id });
      if (!updated.length) {
        // Taken for dead (the database was out of reach longer than the window): rejoin with every session.
        log.warn({ instance: id }, "this instance had been taken for dead; registering its sessions again");
        await register();
        for (const e of sessionRegistry().entries()) await claim(e);
      } else {
        await db
          .update(terminalSessionOwners)
          .set({ lastSeenAt: sql`now()` })
          .where(eq(terminalSessionOwners.instanceId, id));
      }
      const reaped = await reapDeadInstances(db, opts.deadAfterMs);
      if (reaped) log.info({ instances: reaped }, "removed instances whose heartbeat stopped, and their terminal sessions");
    } catch (err) {
      log.warn({ err }, "instance heartbeat failed");
    } finally {
      beating = false;
    }
  };
  const timer = setInterval(() => void beat(), HEARTBEAT_MS);
  timer.unref();
  void beat();

  return {
    instanceId: id,
    url: s.url,
    async stop() {
      clearInterval(timer);
      unlisten();
      s.enabled = false;
      // Our sessions are closed by now (shutdown ends them first): nothing of us remains.
      await record("instance removal", db.delete(controlPlaneInstances).where(eq(controlPlaneInstances.id, id)));
    },
  };
}
