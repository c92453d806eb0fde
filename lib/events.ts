// Changes other parts of the control plane must hear about at once: a workspace key
// regenerated or revoked, a target booted, stopped, removed or rotated, a member
// removed, an API token revoked. Handlers in this process run synchronously inside
// `publish`, so an effect (a cache dropped, a terminal ended) has happened before the
// request that caused it answers. With Postgres, the event also goes out by NOTIFY on
// one channel, and every other instance LISTENing runs its handlers when it arrives
// (within milliseconds); on PGlite there is only this process.
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { isDatabaseUnavailable, reportDatabaseError } from "@/db/outage";
import { processGlobal } from "@/lib/global";
import type { Logger } from "@/lib/log";

export type MeshiaEvent =
  /** Anything may have changed (events may have been missed): drop every cache. */
  | { type: "resync" }
  | { type: "workspace-key.changed"; workspaceId: string }
  | { type: "target.changed"; targetId: string; workspaceId: string }
  /** The target stopped: its terminal sessions end, saying `detail`. */
  | { type: "target.stopped"; targetId: string; workspaceId: string; detail?: string }
  | { type: "target.removed"; targetId: string; workspaceId: string }
  /** The bridge credential rotated: terminals opened with the old one end. */
  | { type: "target.bridge-rotated"; targetId: string; workspaceId: string }
  /** Someone left a workspace (their tokens there were revoked with it): their terminals there end. */
  | { type: "member.removed"; workspaceId: string; userId: string }
  /** API tokens revoked: terminals opened through them end. */
  | { type: "token.revoked"; workspaceId: string; tokenIds: string[] }
  /** Stop or start the embedded target: asked by an instance that does not run it, done by the one that does (lib/targets/power.ts). */
  | { type: "target.power-request"; requestId: string; targetId: string; workspaceId: string; action: "stop" | "start"; actor: string }
  /** The embedded target's instance did (ok) or could not do what `requestId` asked. */
  | { type: "target.power-done"; requestId: string; targetId: string; workspaceId: string; ok: boolean }
  /** End a terminal session held by whichever instance has it (its tab was closed on another). */
  | { type: "terminal-session.close"; sessionId: string; workspaceId: string; userId: string | null; reason: string };

export const EVENT_CHANNEL = "meshia_events";

type Handler = (event: MeshiaEvent) => void;

/**
 * One instance's view of the event stream. The app has one (`defaultBus()`); tests
 * make several to stand for several instances on one Postgres.
 */
export class EventBus {
  readonly instanceId = randomUUID();
  private readonly handlers = new Set<Handler>();
  private listening = false;
  /** The LISTEN connection is up: events from other instances reach us. */
  private connected = false;

  /**
   * Whether this bus hears every change: always when not listening (PGlite: one
   * process), and with Postgres while the LISTEN connection is up. Caches must not be
   * trusted otherwise.
   */
  get heard(): boolean {
    return !this.listening || this.connected;
  }

  /** Whether events reach other instances (Postgres, listening) rather than only this process. */
  get shared(): boolean {
    return this.listening;
  }

  /** Runs `handler` for every event, from this process and (with Postgres) every other instance. */
  subscribe(handler: Handler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  dispatch(event: MeshiaEvent, log?: Pick<Logger, "error">): void {
    for (const h of this.handlers) {
      try {
        h(event);
      } catch (err) {
        log?.error({ err, event: event.type }, "event handler failed");
      }
    }
  }

  /**
   * Announces a change that is committed: this process's handlers run now, other
   * instances hear it by NOTIFY. Call it after the transaction, never inside: a cache
   * dropped before the commit could be refilled with the old value meanwhile.
   */
  async publish(db: Pick<Db, "execute">, event: MeshiaEvent): Promise<void> {
    this.dispatch(event);
    if (!this.listening) return;
    const payload = JSON.stringify({ from: this.instanceId, event });
    await db.execute(sql`SELECT pg_notify(${EVENT_CHANNEL}, ${payload})`);
  }

  /**
   * With Postgres: LISTENs on a connection of its own, reconnecting with backoff when
   * it drops (a `resync` is dispatched on every (re)connect, since events may have been
   * missed meanwhile). Returns a function that stops listening.
   */
  async listen(url: string, log: Logger): Promise<() => Promise<void>> {
    if (!url || this.listening) return async () => undefined;
    this.listening = true;
    const pg = (await import("pg")).default;
    let client: InstanceType<typeof pg.Client> | null = null;
    let stopped = false;
    let retry: NodeJS.Timeout | null = null;
    let delay = 500;
    const connect = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: url });
      c.on("error", (err) => {
        // The database going away is logged once for the whole process (db/outage.ts).
        if (isDatabaseUnavailable(err)) reportDatabaseError(err);
        else log.warn({ err: err.message }, "event listener connection failed; reconnecting");
      });
      c.on("end", () => {
        if (client === c) {
          client = null;
          this.connected = false;
        }
        if (!stopped) schedule();
      });
      c.on("notification", (msg) => {
        if (msg.channel !== EVENT_CHANNEL || !msg.payload) return;
        try {
          const { from, event } = JSON.parse(msg.payload) as { from: string; event: MeshiaEvent };
          if (from !== this.instanceId) this.dispatch(event, log);
        } catch (err) {
          log.warn({ err }, "unreadable event notification");
        }
      });
      try {
        await c.connect();
        await c.query(`LISTEN ${EVENT_CHANNEL}`);
      } catch (err) {
        await c.end().catch(() => undefined);
        throw err;
      }
      if (stopped) {
        await c.end().catch(() => undefined);
        return;
      }
      client = c;
      this.connected = true;
      delay = 500;
      // Whatever happened while we were not listening: drop everything cached.
      this.dispatch({ type: "resync" }, log);
    };
    const schedule = () => {
      if (retry || stopped) return;
      retry = setTimeout(() => {
        retry = null;
        connect().catch(() => {
          delay = Math.min(delay * 2, 10_000);
          schedule();
        });
      }, delay);
      retry.unref();
    };
    await connect().catch((err: unknown) => {
      log.warn({ err }, "event listener could not connect; retrying");
      schedule();
    });
    return async () => {
      stopped = true;
      this.listening = false;
      this.connected = false;
      if (retry) clearTimeout(retry);
      await client?.end().catch(() => undefined);
    };
  }
}

// Until listenForEvents starts (the server, on Postgres), this process is alone:
// events stay in it. Tests that open databases of their own stay in that mode.

/** This process's bus (shared by server.ts and the route handlers' module copies). */
const bus = processGlobal("events", () => new EventBus());

export function defaultBus(): EventBus {
  return bus.get();
}

/** Whether this process hears every change (see EventBus.heard). */
export function eventsHeard(): boolean {
  return defaultBus().heard;
}

export function subscribe(handler: Handler): () => void {
  return defaultBus().subscribe(handler);
}

export function publish(db: Pick<Db, "execute">, event: MeshiaEvent): Promise<void> {
  return defaultBus().publish(db, event);
}

export function listenForEvents(url: string, log: Logger): Promise<() => Promise<void>> {
  return defaultBus().listen(url, log);
}
