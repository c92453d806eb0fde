// Prometheus metrics (prom-client), served at /metrics by server.ts: terminal
// sessions and their bytes, key generations, authorized-keys lookups and their
// latency, and limits hit. One registry per process, shared by route handlers and
// server.ts through lib/global.ts.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { processGlobal } from "@/lib/global";

function create() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "meshia_process_" });
  return {
    registry,
    sessionsOpen: new Gauge({ name: "meshia_terminal_sessions_open", help: "Terminal sessions held by this instance.", registers: [registry] }),
    sessionsOpened: new Counter({ name: "meshia_terminal_sessions_opened_total", help: "Terminal sessions whose shell opened.", registers: [registry] }),
    sessionsFailed: new Counter({
      name: "meshia_terminal_sessions_unreachable_total",
      help: "Terminal sessions whose target could not be reached.",
      registers: [registry],
    }),
    terminalBytes: new Counter({
      name: "meshia_terminal_bytes_total",
      help: "Bytes through terminal sessions, by direction (in: typed, out: output).",
      labelNames: ["direction"] as const,
      registers: [registry],
    }),
    keyGenerations: new Counter({ name: "meshia_key_generations_total", help: "Workspace keys generated.", registers: [registry] }),
    keyLookups: new Counter({
      name: "meshia_authorized_keys_lookups_total",
      help: "Authorized-keys lookups from targets, by result (served, none, unauthorized, limited, error).",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
    keyLookupSeconds: new Histogram({
      name: "meshia_authorized_keys_lookup_seconds",
      help: "Time to answer an authorized-keys lookup.",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    terminalProxied: new Counter({
      name: "meshia_terminal_proxied_total",
      help: "Terminal sockets for sessions held by another instance, by outcome (proxied, owner-gone, internal-refused).",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    keyPool: new Counter({
      name: "meshia_key_pool_takes_total",
      help: "Workspace keys asked for, by outcome (pooled: ready at once; generated: made on demand; busy: refused at the global cap; person_busy: refused, that person already waits for one).",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    idleCollections: new Counter({
      name: "meshia_idle_gc_total",
      help: "Full GCs run when the server turned quiet after a busy spell, to give memory back (lib/memory.ts).",
      registers: [registry],
    }),
    databaseOutages: new Counter({ name: "meshia_database_outages_total", help: "Times the database became unreachable.", registers: [registry] }),
    limitsHit: new Counter({
      name: "meshia_limits_hit_total",
      help: "Requests refused by a limit, by limit.",
      labelNames: ["limit"] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof create>;

const metricsGlobal = processGlobal("metrics", create);

export function metrics(): Metrics {
  return metricsGlobal.get();
}
