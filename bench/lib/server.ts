// Starts the real server (production build) for a benchmark run: its own port in
// 3330-3339, its own data directory under .tmp/, embedded PGlite, and a pid we hold
// so that everything is stopped and removed again on every exit path.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { defer } from "./cleanup";
import { sleep } from "./stats";
import { cookieOf } from "../../lib/auth/testing";

export const ROOT = path.resolve(import.meta.dirname, "../..");
const TMP = path.join(ROOT, ".tmp");

export interface BenchServer {
  pid: number;
  port: number;
  base: string;
  /** Headers that authenticate as the owner (an API token made through the setup link). */
  auth: Record<string, string>;
  /** The owner's browser session cookie (from the setup link). */
  cookie: string;
  dataDir: string;
  /** Lines the server wrote on stderr (it logs JSON on stdout; stderr is kept for diagnostics). */
  stderr(): string;
  /** The server's JSON log (stdout), the last 1 MiB of it. */
  stdout(): string;
  stop(): Promise<void>;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

async function freePort(from: number, to: number): Promise<number> {
  for (let p = from; p <= to; p++) if (await portFree(p)) return p;
  throw new Error(`no free port in ${from}-${to}`);
}

const running = new Set<ChildProcess>();
let hooked = false;

/** Last resort if the benchmark dies without its cleanup: never leave a server behind. */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const c of running) if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(c.pid, "SIGKILL");
  });
}

export interface StartOptions {
  name: string;
  /** Extra node flags (e.g. --cpu-prof) placed before server.ts. */
  nodeArgs?: string[];
  env?: Record<string, string>;
  portRange?: [number, number];
}

export async function startServer(opts: StartOptions): Promise<BenchServer> {
  if (!existsSync(path.join(ROOT, ".next", "BUILD_ID"))) throw new Error("no production build: run `npm run build` first");
  hookExit();
  const [from, to] = opts.portRange ?? [3330, 3338];
  const port = await freePort(from, to);
  const dataDir = path.join(TMP, `bench-${opts.name}-${process.pid}-${Date.now()}`);
  const setupToken = randomBytes(24).toString("base64url");
  mkdirSync(dataDir, { recursive: true });
  const child = spawn(process.execPath, ["--import", "tsx", ...(opts.nodeArgs ?? []), "server.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      HOST: "127.0.0.1",
      PORT: String(port),
      MESHIA_DATA_DIR: dataDir,
      MESHIA_VOLUMES_DIR: `${dataDir}-volumes`,
      MESHIA_TARGET_PORTS: "23800-23899",
      DATABASE_URL: "",
      LOG_LEVEL: "warn",
      MESHIA_SETUP_TOKEN: setupToken,
      // The benchmark generates keys back to back: not what the limit is for.
      MESHIA_KEYGEN_RATE: "100000/1",
      MESHIA_KEYGEN_USER_RATE: "100000/1",
      MESHIA_WORKSPACE_CREATE_RATE: "100000/1",
      // Benchmark targets sit on loopback addresses, which targets may not be at by default.
      MESHIA_TARGET_ALLOWED_NETWORKS: "127.0.0.2/32,127.0.0.3/32,127.0.0.9/32",
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
    if (err.length > 64 * 1024) err = err.slice(-32 * 1024);
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => {
    // Structured logs: kept (bounded) for benchmarks and tests that read them, not shown.
    out += d.toString();
    if (out.length > 1024 * 1024) out = out.slice(-512 * 1024);
  });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      process.kill(child.pid!, "SIGTERM");
      const t = setTimeout(() => child.exitCode === null && process.kill(child.pid!, "SIGKILL"), 15_000);
      await exited;
      clearTimeout(t);
    }
    running.delete(child);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(`${dataDir}-volumes`, { recursive: true, force: true });
  };
  defer(stop);

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start in 90 s:\n${err}`)), 90_000);
      const onData = () => {
        if (err.includes("is running at")) {
          clearTimeout(timer);
          child.stderr!.off("data", onData);
          resolve();
        }
      };
      child.stderr!.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code} before listening:\n${err}`));
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  const base = `http://127.0.0.1:${port}`;
  const { auth, cookie } = await bootstrapOwnerSession(base, setupToken);
  return { pid: child.pid!, port, base, auth, cookie, dataDir, stderr: () => err, stdout: () => out, stop };
}

/** VmRSS (or another /proc status field) of a process, in bytes. */
export function procStatusBytes(pid: number, field = "VmRSS"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no ${field} for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/**
 * A thread's scheduler stats in ms (the main thread when tid = pid): time on a CPU
 * and time spent runnable but waiting for one, which tells a blocked event loop
 * from a starved one on a busy machine.
 */
export function threadSchedMs(pid: number, tid = pid): { onCpu: number; waiting: number } {
  const [onCpu, waiting] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").trim().split(/\s+/).map(Number) as [number, number];
  return { onCpu: onCpu / 1e6, waiting: waiting / 1e6 };
}

/** User+system CPU seconds a process has used so far. */
export function procCpuSeconds(pid: number): number {
  const { user, system } = procCpuSplit(pid);
  return user + system;
}

/** User and system (kernel: syscalls such as socket writes) CPU seconds a process has used so far. */
export function procCpuSplit(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 }; // utime, stime in clock ticks (USER_HZ 100)
}

const authByOrigin = new Map<string, Record<string, string>>();

/** The owner's credentials for a server this process started (empty for anything else). */
export function authFor(url: string): Record<string, string> {
  return authByOrigin.get(new URL(url).origin) ?? {};
}

/** Lets `authFor` (and the clients that use it) authenticate in a process that did not start the server (a flood's child process). */
export function rememberAuth(base: string, auth: Record<string, string>): void {
  authByOrigin.set(new URL(base).origin, auth);
}

/**
 * Uses the first-start setup link (the token we gave the server) to create the owner,
 * then an API token: benchmarks talk to the API as a script would.
 */
export async function bootstrapOwner(base: string, setupToken: string): Promise<Record<string, string>> {
  return (await bootstrapOwnerSession(base, setupToken)).auth;
}

export async function bootstrapOwnerSession(base: string, setupToken: string): Promise<{ auth: Record<string, string>; cookie: string }> {
  const setup = await fetch(`${base}/api/setup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token: setupToken, name: "Bench", email: "bench@example.com", password: randomBytes(18).toString("base64url") }),
  });
  if (!setup.ok) throw new Error(`setup: ${setup.status} ${await setup.text()}`);
  const { workspaceId } = (await setup.json()) as { workspaceId: string };
  const cookie = cookieOf(setup.headers);
  const tok = await fetch(`${base}/api/workspaces/${workspaceId}/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie },
    body: JSON.stringify({ name: "bench" }),
  });
  if (!tok.ok) throw new Error(`token: ${tok.status} ${await tok.text()}`);
  const auth = { authorization: `Bearer ${((await tok.json()) as { token: string }).token}` };
  authByOrigin.set(new URL(base).origin, auth);
  return { auth, cookie };
}

export async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { ...init, headers: { ...authFor(url), ...(init?.headers as Record<string, string> | undefined) } });
  if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export async function defaultWorkspace(base: string): Promise<string> {
  const { workspaces } = await getJson<{ workspaces: { id: string }[] }>(`${base}/api/workspaces`);
  if (!workspaces[0]) throw new Error("no workspace");
  return workspaces[0].id;
}

/** Where a server's memory is, from its /metrics (loopback may read it): V8 heap used and total, and memory outside the heap (Buffers, WASM such as PGlite's). */
export interface MemoryBreakdown {
  heapUsed: number;
  heapTotal: number;
  external: number;
}

export async function memoryBreakdown(base: string): Promise<MemoryBreakdown | null> {
  try {
    const text = await (await fetch(`${base}/metrics`)).text();
    const read = (name: string) => Number(new RegExp(`^meshia_process_${name} (\\S+)`, "m").exec(text)?.[1] ?? NaN);
    return {
      heapUsed: read("nodejs_heap_size_used_bytes"),
      heapTotal: read("nodejs_heap_size_total_bytes"),
      external: read("nodejs_external_memory_bytes"),
    };
  } catch {
    return null;
  }
}

/** A fresh database on a local Postgres; returns its URL and how to drop it. */
export async function freshPostgres(url: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = new URL(url);
  if (!["127.0.0.1", "localhost", "::1", "[::1]"].includes(admin.hostname))
    throw new Error("the Postgres URL must be a local server (the bench creates and drops a database)");
  const name = `meshia_bench_${randomBytes(5).toString("hex")}`;
  const pg = (await import("pg")).default;
  const exec = async (sql: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await exec(`CREATE DATABASE ${name}`);
  const db = new URL(url);
  db.pathname = `/${name}`;
  return { url: db.toString(), drop: () => exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** `n` loops calling `once` until `stop` is set. */
export async function loops(n: number, stop: { done: boolean }, once: () => Promise<void>): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (!stop.done) {
        try {
          await once();
        } catch {
          await sleep(10); // a refused connection: do not spin
        }
      }
    }),
  );
}

/** RSS every 250 ms until stopped. */
export function rssSampler(pid: number): { stop(): number[] } {
  const samples: number[] = [procStatusBytes(pid)];
  const t = setInterval(() => samples.push(procStatusBytes(pid)), 250);
  return {
    stop() {
      clearInterval(t);
      samples.push(procStatusBytes(pid));
      return samples;
    },
  };
}
