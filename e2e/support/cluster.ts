// Two control-plane instances (two real server.ts processes, production build) on
// one fresh Postgres database, behind a small TCP load balancer whose backend the
// test switches: what several instances behind an ordinary load balancer look like.
// Used by e2e/cluster.spec.ts and bench/lib/cross-instance.ts. Needs DATABASE_URL
// (a local Postgres: postgres://root@127.0.0.1:5432/test); each run creates its own
// database and drops it again.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import pg from "pg";

const ROOT = path.resolve(import.meta.dirname, "../..");

export interface ClusterPorts {
  balancer: number;
  a: number;
  b: number;
  /** MESHIA_TARGET_PORTS of the instance that runs the embedded target (B). */
  targetPorts: string;
}

export const CLUSTER_PORTS: ClusterPorts = { balancer: 3220, a: 3221, b: 3222, targetPorts: "23600-23649" };

/** Why the cluster tests cannot run here, or null when they can. */
export function clusterSkipReason(env: NodeJS.ProcessEnv = process.env): string | null {
  const url = env.DATABASE_URL;
  if (!url) return "DATABASE_URL is not set: two instances need a shared Postgres (e.g. postgres://root@127.0.0.1:5432/test)";
  const host = new URL(url).hostname;
  if (!["127.0.0.1", "localhost", "::1", "[::1]", ""].includes(host)) return `refusing to create databases on non-local ${host}`;
  return null;
}

export interface Instance {
  name: "a" | "b";
  port: number;
  base: string;
  pid: number;
  /** The server's stdout (JSON log) and stderr so far. */
  log(): string;
  alive(): boolean;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** A TCP balancer: every new connection goes to the current backend; `dropAll` cuts the open ones. */
export class Balancer {
  private backend: number;
  private readonly conns = new Set<net.Socket>();
  readonly counts: Record<number, number> = {};
  private constructor(
    private readonly server: net.Server,
    backend: number,
  ) {
    this.backend = backend;
  }

  static async listen(port: number, backend: number): Promise<Balancer> {
    const server = net.createServer();
    const b = new Balancer(server, backend);
    server.on("connection", (client) => {
      const to = b.backend;
      b.counts[to] = (b.counts[to] ?? 0) + 1;
      const up = net.connect(to, "127.0.0.1");
      b.conns.add(client);
      b.conns.add(up);
      const end = () => {
        client.destroy();
        up.destroy();
        b.conns.delete(client);
        b.conns.delete(up);
      };
      client.on("error", end).on("close", end);
      up.on("error", end).on("close", end);
      client.pipe(up).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    return b;
  }

  switchTo(port: number): void {
    this.backend = port;
  }

  dropAll(): void {
    for (const s of [...this.conns]) s.destroy();
    this.conns.clear();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export interface Cluster {
  a: Instance;
  b: Instance;
  balancer: Balancer;
  /** The balancer's URL: the public URL of both instances. */
  base: string;
  databaseUrl: string;
  /** MESHIA_INTERNAL_SECRET both instances share (tests sign grants with it to probe the endpoint). */
  internalSecret: string;
  setupToken: string;
  /** Runs a query on the cluster's database. */
  query<T extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

async function createDatabase(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `meshia_cluster_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const a = new pg.Client({ connectionString: url });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

function startInstance(name: "a" | "b", port: number, env: Record<string, string>, dataDir: string): Promise<Instance> {
  mkdirSync(path.dirname(dataDir), { recursive: true });
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "server.ts"], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), MESHIA_DATA_DIR: dataDir, MESHIA_VOLUMES_DIR: `${dataDir}-volumes` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 512 * 1024) out = out.slice(-256 * 1024);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const instance: Instance = {
    name,
    port,
    base: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    log: () => out,
    alive: () => child.exitCode === null && child.signalCode === null,
    async kill(signal) {
      if (!instance.alive()) return;
      process.kill(child.pid!, signal);
      const t = setTimeout(() => instance.alive() && process.kill(child.pid!, "SIGKILL"), 20_000);
      await exited;
      clearTimeout(t);
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void instance.kill("SIGKILL");
      reject(new Error(`instance ${name} did not start in 90 s:\n${out.slice(-4000)}`));
    }, 90_000);
    const onData = () => {
      if (!out.includes("is running at")) return;
      clearTimeout(timer);
      child.stderr!.off("data", onData);
      resolve(instance);
    };
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`instance ${name} exited with ${code} before listening:\n${out.slice(-4000)}`));
    });
  });
}

/**
 * Starts A then B (by default B runs the embedded target, so that it outlives A),
 * on a fresh database, behind the balancer (pointing at A). Everything is removed by stop().
 */
export async function startCluster(opts: { ports?: ClusterPorts; tag: string; env?: Record<string, string>; embeddedOn?: "a" | "b" }): Promise<Cluster> {
  const reason = clusterSkipReason();
  if (reason) throw new Error(reason);
  const ports = opts.ports ?? CLUSTER_PORTS;
  const db = await createDatabase(process.env.DATABASE_URL!);
  const dataRoot = path.join(ROOT, ".tmp", `cluster-${opts.tag}-${process.pid}`);
  const base = `http://127.0.0.1:${ports.balancer}`;
  const internalSecret = randomBytes(32).toString("base64url");
  const setupToken = `cluster-setup-${randomBytes(8).toString("hex")}`;
  const common: Record<string, string> = {
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    HOST: "127.0.0.1",
    DATABASE_URL: db.url,
    MESHIA_PUBLIC_URL: base,
    // Shared by every instance: cookies, bridge credentials, internal grants.
    MESHIA_AUTH_SECRET: randomBytes(32).toString("base64url"),
    MESHIA_BRIDGE_SECRET: randomBytes(32).toString("base64url"),
    MESHIA_INTERNAL_SECRET: internalSecret,
    MESHIA_SETUP_TOKEN: setupToken,
    MESHIA_INSTANCE_DEAD_AFTER: "6",
    MESHIA_SESSION_GRACE: "600",
    MESHIA_SIGNIN_RATE: "1000/10",
    MESHIA_KEYGEN_RATE: "100000/1",
    LOG_LEVEL: "info",
    ...opts.env,
  };
  const started: Instance[] = [];
  let balancer: Balancer | null = null;
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const stop = async () => {
    await balancer?.close();
    for (const i of started) await i.kill("SIGTERM");
    await pool.end();
    await db.drop();
    for (const d of ["a", "b"]) {
      rmSync(path.join(dataRoot, d), { recursive: true, force: true });
      rmSync(path.join(dataRoot, `${d}-volumes`), { recursive: true, force: true });
    }
  };
  try {
    const embedded = (on: "a" | "b"): Record<string, string> =>
      (opts.embeddedOn ?? "b") === on ? { MESHIA_TARGET_PORTS: ports.targetPorts } : { MESHIA_LOCAL_TARGET: "off" };
    const a = await startInstance("a", ports.a, { ...common, ...embedded("a"), MESHIA_DRAIN_GRACE: "0" }, path.join(dataRoot, "a"));
    started.push(a);
    const b = await startInstance("b", ports.b, { ...common, ...embedded("b"), MESHIA_DRAIN_GRACE: "0" }, path.join(dataRoot, "b"));
    started.push(b);
    balancer = await Balancer.listen(ports.balancer, ports.a);
    return {
      a,
      b,
      balancer,
      base,
      databaseUrl: db.url,
      internalSecret,
      setupToken,
      query: async (text, values) => (await pool.query(text, values)).rows,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
