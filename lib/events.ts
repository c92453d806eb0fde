// Changes other parts of the control plane must hear about at once: a workspace key
// regenerated or revoked, a target booted, stopped, removed or rotated. Handlers in
// this process run synchronously inside `publish`, so an effect (a cache dropped) has
// happened before the request that caused it answers. With Postgres, the event also
// goes out by NOTIFY on one channel, and every other instance LISTENing runs its
// handlers when it arrives; on PGlite there is only this process.
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { singleton } from "@/lib/global";
import type { Logger } from "@/lib/log";

export type MeshiaEvent =
  /** Anything may have changed (events may have been missed): drop every cache. */
  | { type: "resync" }
  | { type: "workspace-key.changed"; workspaceId: string }
  | { type: "target.changed"; targetId: string; workspaceId: string }
  | { type: "target.removed"; targetId: string; workspaceId: string }
  /** End a terminal session held by whichever instance has it (its tab was closed elsewhere). */
  | { type: "terminal-session.close"; sessionId: string; workspaceId: string; userId: string | null; reason: string };

export const EVENT_CHANNEL = "meshia_events";

type Handler = (event: MeshiaEvent) => void;

interface Bus {
  instanceId: string;
  handlers: Set<Handler>;
  listening: boolean;
  /** The LISTEN connection is up: events from other instances reach us. */
  connected: boolean;
}

// Until listenForEvents starts (the server, on Postgres), this process is alone:
// events stay in it. Tests that open databases of their own stay in that mode.

function bus(): Bus {
  return singleton("events", () => ({ instanceId: randomUUID(), handlers: new Set<Handler>(), listening: false, connected: false }));
}

/**
 * Whether this process hears every change: always on PGlite (one process), and with
 * Postgres while the LISTEN connection is up. Caches must not be trusted otherwise.
 */
export function eventsHeard(): boolean {
  return !bus().listening || bus().connected;
}

function dispatch(event: MeshiaEvent, log?: Pick<Logger, "error">): void {
  for (const h of bus().handlers) {
    try {
      h(event);
    } catch (err) {
      log?.error({ err, event: event.type }, "event handler failed");
    }
  }
}

/** Runs `handler` for every event, from this process and (with Postgres) every other instance. */
export function subscribe(handler: Handler): () => void {
  bus().handlers.add(handler);
  return () => bus().handlers.delete(handler);
}

/**
 * Announces a change that is committed: this process's handlers run now, other
 * instances hear it by NOTIFY. Call it after the transaction, never inside: a cache
 * dropped before the commit could be refilled with the old value meanwhile.
 */
export async function publish(db: Pick<Db, "execute">, event: MeshiaEvent): Promise<void> {
  dispatch(event);
  if (!bus().listening) return;
  const payload = JSON.stringify({ from: bus().instanceId, event });
  await db.execute(sql`SELECT pg_notify(${EVENT_CHANNEL}, ${payload})`);
}

/**
 * With Postgres: LISTENs on a connection of its own, reconnecting with backoff when
 * it drops (events missed meanwhile are covered by the caches' own expiry). Returns
 * a function that stops listening.
 */
export async function listenForEvents(url: string, log: Logger): Promise<() => Promise<void>> {
  const b = bus();
  if (!url || b.listening) return async () => undefined;
  b.listening = true;
  const pg = (await import("pg")).default;
  let client: InstanceType<typeof pg.Client> | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | null = null;
  let delay = 500;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url });
    c.on("error", (err) => log.warn({ err: err.message }, "event listener connection failed; reconnecting"));
    c.on("end", () => {
      if (client === c) {
        client = null;
        b.connected = false;
      }
      if (!stopped) schedule();
    });
    c.on("notification", (msg) => {
      if (msg.channel !== EVENT_CHANNEL || !msg.payload) return;
      try {
        const { from, event } = JSON.parse(msg.payload) as { from: string; event: MeshiaEvent };
        if (from !== b.instanceId) dispatch(event, log);
      } catch (err) {
        log.warn({ err }, "unreadable event notification");
      }
    });
    await c.connect();
    await c.query(`LISTEN ${EVENT_CHANNEL}`);
    client = c;
    b.connected = true;
    delay = 500;
    // Whatever happened while we were not listening: drop everything cached.
    dispatch({ type: "resync" }, log);
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
    b.listening = false;
    b.connected = false;
    if (retry) clearTimeout(retry);
    await client?.end().catch(() => undefined);
  };
}
