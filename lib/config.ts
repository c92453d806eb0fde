// Environment, read and validated once. Nothing else in the app reads process.env.
import path from "node:path";
import ipaddr from "ipaddr.js";
import { z } from "zod";
import { processGlobal } from "./global";

const onOff = z.enum(["on", "off", "true", "false", "1", "0"]).transform((v) => v === "on" || v === "true" || v === "1");

const portNumber = z.coerce.number().int().min(1).max(65535);

const portRange = z
  .string()
  .regex(/^\d{1,5}-\d{1,5}$/, "expected FROM-TO, e.g. 23000-23999")
  .transform((v, ctx) => {
    const [from, to] = v.split("-").map(Number) as [number, number];
    if (from < 1 || to > 65535 || from > to) {
      ctx.addIssue({ code: "custom", message: "expected 1 <= FROM <= TO <= 65535" });
      return z.NEVER;
    }
    return { from, to };
  });

const seconds = z.coerce.number().min(0);

/** Comma-separated CIDRs (a bare address counts as a /32 or /128). */
const cidrList = z.string().transform((v, ctx) => {
  const out: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];
  for (const item of v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    try {
      const cidr = item.includes("/") ? item : `${item}/${ipaddr.parse(item).kind() === "ipv4" ? 32 : 128}`;
      out.push(ipaddr.parseCIDR(cidr));
    } catch {
      ctx.addIssue({ code: "custom", message: `"${item}" is not a CIDR (e.g. 10.0.0.0/8, fd00::/8, 192.0.2.7)` });
      return z.NEVER;
    }
  }
  return out;
});

/** "MAX/SECONDS": at most MAX requests per SECONDS, e.g. 3/10. */
const rate = z
  .string()
  .regex(/^\d+\/\d+$/, "expected MAX/SECONDS, e.g. 3/10")
  .transform((v) => {
    const [max, windowSeconds] = v.split("/").map(Number) as [number, number];
    return { max, windowSeconds };
  });

const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  MESHIA_PUBLIC_URL: z.url().optional(),
  DATABASE_URL: z.string().min(1).optional(),
  MESHIA_DATA_DIR: z.string().min(1).default("./.meshia"),
  MESHIA_VOLUMES_DIR: z.string().min(1).optional(),
  MESHIA_LOCAL_TARGET: onOff.default(true),
  MESHIA_TARGET_HOST: z.string().min(1).default("127.0.0.1"),
  MESHIA_TARGET_PUBLIC_HOST: z.string().min(1).optional(),
  MESHIA_TARGET_PORTS: portRange.default({ from: 23000, to: 23999 }),
  MESHIA_TARGET_PORT: portNumber.optional(),
  MESHIA_TARGET_LIVE_WINDOW: seconds.default(90),
  MESHIA_ALLOWED_ORIGINS: z.string().optional(),
  MESHIA_TRUST_PROXY: onOff.default(false),
  MESHIA_SESSION_GRACE: seconds.default(300),
  MESHIA_RESUME_BUFFER: z.coerce
    .number()
    .int()
    .min(4096)
    .default(1024 * 1024),
  // At least one input frame (64 KiB), so that one paste frame alone never trips it.
  MESHIA_TERMINAL_INPUT_CAP: z.coerce
    .number()
    .int()
    .min(64 * 1024)
    .default(4 * 1024 * 1024),
  MESHIA_IDLE_TIMEOUT: seconds.default(0),
  MESHIA_TICKET_TTL: seconds.default(30),
  MESHIA_MAX_SESSIONS_PER_USER: z.coerce.number().int().min(1).default(20),
  MESHIA_MAX_TICKETS_PER_USER: z.coerce.number().int().min(1).default(20),
  MESHIA_AUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  MESHIA_SETUP_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  MESHIA_BRIDGE_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  MESHIA_TARGET_ALLOWED_NETWORKS: cidrList.default([]),
  MESHIA_SIGNIN_RATE: rate.default({ max: 3, windowSeconds: 10 }),
  MESHIA_KEYGEN_RATE: rate.default({ max: 10, windowSeconds: 60 }),
  MESHIA_KEYGEN_USER_RATE: rate.default({ max: 20, windowSeconds: 60 }),
  MESHIA_KEYGEN_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  MESHIA_KEY_POOL_SIZE: z.coerce.number().int().min(0).max(64).default(4),
  MESHIA_WORKSPACE_CREATE_RATE: rate.default({ max: 10, windowSeconds: 3600 }),
  MESHIA_CONNECTION_TEST_RATE: rate.default({ max: 6, windowSeconds: 60 }),
  MESHIA_TARGET_AUTH_FAILURE_RATE: rate.default({ max: 30, windowSeconds: 60 }),
  MESHIA_MAX_INFLIGHT_PER_ADDRESS: z.coerce.number().int().min(0).default(32),
  MESHIA_HEAP_GROWTH: z.coerce.number().int().min(0).max(400).default(0),
  MESHIA_IDLE_GC: onOff.default(true),
  MESHIA_DRAIN_GRACE: seconds.default(30),
  MESHIA_METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  MESHIA_INSTANCE_URL: z.url().optional(),
  MESHIA_INTERNAL_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  MESHIA_INSTANCE_DEAD_AFTER: z.coerce.number().min(3).default(15),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type Config = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  // An empty variable means "not set" (so `DATABASE_URL= npm start` uses PGlite).
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.MESHIA_DATA_DIR);
  const volumesDir = path.resolve(/*turbopackIgnore: true*/ e.MESHIA_VOLUMES_DIR ?? defaultVolumesDir(env));
  // The sandbox hides the whole data directory from shells; a volume inside it would vanish too.
  if (e.MESHIA_LOCAL_TARGET && (isWithin(volumesDir, dataDir) || isWithin(dataDir, volumesDir))) {
    throw new Error(`Invalid configuration:\n  MESHIA_VOLUMES_DIR: ${volumesDir} must be outside MESHIA_DATA_DIR (${dataDir}) and not contain it`);
  }
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    publicUrl: e.MESHIA_PUBLIC_URL?.replace(/\/$/, ""),
    databaseUrl: e.DATABASE_URL,
    dataDir,
    /** Workspace volumes (the embedded target's HOME), outside the private data directory. */
    volumesDir,
    localTarget: {
      enabled: e.MESHIA_LOCAL_TARGET,
      listenHost: e.MESHIA_TARGET_HOST,
      publicHost: e.MESHIA_TARGET_PUBLIC_HOST ?? e.MESHIA_TARGET_HOST,
      ports: e.MESHIA_TARGET_PORT ? { from: e.MESHIA_TARGET_PORT, to: e.MESHIA_TARGET_PORT } : e.MESHIA_TARGET_PORTS,
    },
    targetLiveWindowMs: e.MESHIA_TARGET_LIVE_WINDOW * 1000,
    /** Networks targets may be in although the default rule refuses them (loopback, link-local, our own addresses). */
    targetAllowedNetworks: e.MESHIA_TARGET_ALLOWED_NETWORKS,
    /** Derives every target's bridge credential; unset: made on first start (keys/bridge_secret). */
    bridgeSecret: e.MESHIA_BRIDGE_SECRET,
    /** Wrong target tokens allowed per client address before it gets 429. */
    targetAuthFailureRate: e.MESHIA_TARGET_AUTH_FAILURE_RATE,
    /** On SIGTERM, how long open terminal sessions may go on before they are ended. */
    drainGraceMs: e.MESHIA_DRAIN_GRACE * 1000,
    metricsToken: e.MESHIA_METRICS_TOKEN,
    /** With several instances on one Postgres (lib/terminal/cluster/): how the others reach this one. */
    cluster: {
      /** Unset: derived from HOST and the port (lib/terminal/cluster/instances.ts). */
      instanceUrl: e.MESHIA_INSTANCE_URL?.replace(/\/$/, ""),
      /** Signs instance-to-instance requests; unset: derived from the auth secret. */
      internalSecret: e.MESHIA_INTERNAL_SECRET,
      /** An instance whose heartbeat is older than this is gone (its sessions with it). */
      deadAfterMs: e.MESHIA_INSTANCE_DEAD_AFTER * 1000,
    },
    trustProxy: e.MESHIA_TRUST_PROXY,
    /** Requests one client address may have in Next's pipeline at once; beyond it 429 (0: no cap). */
    maxInflightPerAddress: e.MESHIA_MAX_INFLIGHT_PER_ADDRESS,
    /** How far (%) V8 may let the heap grow past what was alive at its last full GC (0: V8's own choice, up to 4×). */
    heapGrowthPercent: e.MESHIA_HEAP_GROWTH,
    /** One full GC when the server turns quiet with its heap well above what the last one left. */
    idleGc: e.MESHIA_IDLE_GC,
    allowedOrigins: (e.MESHIA_ALLOWED_ORIGINS ?? "")
      .split(",")
      .map((s) => s.trim().replace(/\/$/, ""))
      .filter(Boolean),
    terminal: {
      graceMs: e.MESHIA_SESSION_GRACE * 1000,
      resumeBufferBytes: e.MESHIA_RESUME_BUFFER,
      /** Hard cap on a session's input waiting for its SSH channel; above it the session is closed. */
      inputCapBytes: e.MESHIA_TERMINAL_INPUT_CAP,
      idleTimeoutMs: e.MESHIA_IDLE_TIMEOUT * 1000,
      ticketTtlMs: e.MESHIA_TICKET_TTL * 1000,
      /** Terminal sessions one person may have open at once (tickets for new sessions count). */
      maxSessionsPerUser: e.MESHIA_MAX_SESSIONS_PER_USER,
      /** Unused terminal tickets one person may hold at once. */
      maxTicketsPerUser: e.MESHIA_MAX_TICKETS_PER_USER,
    },
    logLevel: e.LOG_LEVEL,
    auth: {
      secret: e.MESHIA_AUTH_SECRET,
      setupToken: e.MESHIA_SETUP_TOKEN,
      signInRate: e.MESHIA_SIGNIN_RATE,
      keygenRate: e.MESHIA_KEYGEN_RATE,
      connectionTestRate: e.MESHIA_CONNECTION_TEST_RATE,
      /** Key generations per user across all their workspaces. */
      keygenUserRate: e.MESHIA_KEYGEN_USER_RATE,
      /** Workspaces one user may create per window. */
      workspaceCreateRate: e.MESHIA_WORKSPACE_CREATE_RATE,
    },
    keys: {
      /** Generations in flight at once, server-wide; beyond it 503 with Retry-After. */
      maxConcurrent: e.MESHIA_KEYGEN_CONCURRENCY,
      /** Pre-generated pairs kept in memory (0: none). */
      poolSize: e.MESHIA_KEY_POOL_SIZE,
    },
  };
}

/**
 * Volumes live outside the data directory, which is root-only: as root in
 * /var/lib/meshia-volumes (reachable by `mesh` whatever the checkout's parents
 * allow, and beside, not inside, a data directory at /var/lib/meshia); otherwise in
 * the user's own data home.
 */
function defaultVolumesDir(env: NodeJS.ProcessEnv): string {
  if (process.getuid?.() === 0) return "/var/lib/meshia-volumes";
  const dataHome = env.XDG_DATA_HOME || path.join(env.HOME || ".", ".local", "share");
  return path.join(dataHome, "meshia-volumes");
}

function isWithin(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/** Read from the environment once per process; tests set their own. */
export const configGlobal = processGlobal("config", () => loadConfig());

export function config(): Config {
  return configGlobal.get();
}
