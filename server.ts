// One Node process: Next's request handler, the terminal WebSocket on one path,
// and (by default) the embedded `local` compute target.
import { chmodSync, mkdirSync } from "node:fs";
import http from "node:http";
import next from "next";
import { appDatabase } from "@/db/client";
import { isDatabaseUnavailable, OUTAGE_RETRY_AFTER_SECONDS, reportDatabaseError, UNAVAILABLE_MESSAGE } from "@/db/outage";
import { errorBody } from "@/lib/http/errors";
import { config } from "@/lib/config";
import { logger } from "@/lib/log";
import { limitHeapGrowth, startIdleCollector } from "@/lib/memory";
import { metrics } from "@/lib/metrics";
import { workspaceKeyPool } from "@/lib/keys/key-pool";
import { ensureBridgeSecret } from "@/lib/ssh/bridge-credential";
import { listenForEvents } from "@/lib/events";
import { deriveInstanceUrl, joinCluster, type Cluster } from "@/lib/terminal/cluster/instances";
import { LeaderElection } from "@/lib/leader";
import { startDraining } from "@/lib/health";
import { serveLean, type LeanDeps } from "@/lib/lean-routes";
import { trustForwarding } from "@/lib/http/client-address";
import { InflightCap, refuseOverCap } from "@/lib/http/fair-share";
import { retireLocalCompute, startLocalCompute, type LocalCompute } from "@/lib/targets/local-compute";
import { EMBEDDED_TARGET_LEADER } from "@/lib/targets/power";
import { issueSetupToken } from "@/lib/auth/setup";
import { ensureDefaultWorkspace } from "@/lib/workspaces/workspaces";

async function main() {
  const cfg = config();
  const log = logger();
  limitHeapGrowth(cfg.heapGrowthPercent);
  const dev = cfg.env !== "production";
  // Root-only (or owner-only): database files, keys and secrets live here, volumes do not.
  mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(cfg.dataDir, 0o700);

  const { db, kind } = await appDatabase();
  log.info({ database: kind, dataDir: cfg.dataDir }, "database ready");
  // Several instances may share this Postgres: hear each other's changes.
  const stopListening = kind === "postgres" && cfg.databaseUrl ? await listenForEvents(cfg.databaseUrl, log) : async () => undefined;
  const workspace = await ensureDefaultWorkspace(db);
  ensureBridgeSecret(log); // created on first start, before anything can need it

  // The embedded target runs on one instance: on Postgres, the one holding the
  // advisory lock (lib/leader.ts); the others see it through its target row, and pass
  // Stop and Start on to it (lib/targets/power.ts). On PGlite this process is the only
  // one and runs it at once.
  const embedded: { compute: LocalCompute | null } = { compute: null };
  const election = cfg.localTarget.enabled
    ? new LeaderElection({
        url: kind === "postgres" ? cfg.databaseUrl : undefined,
        name: EMBEDDED_TARGET_LEADER,
        log,
        onElected: async () => {
          embedded.compute = await startLocalCompute(db, workspace, log);
        },
        onDeposed: async () => {
          const compute = embedded.compute;
          embedded.compute = null;
          if (compute) await retireLocalCompute(compute);
        },
      })
    : null;
  await election?.start();
  const local = embedded.compute;

  // Idle keep-alive connections stay open longer than Node's 5 s default, and longer
  // than the 60 s idle timeout of common load balancers: otherwise a client (or proxy)
  // reusing a connection just as the server closes it gets a reset instead of an answer.
  const server = http.createServer({ keepAliveTimeout: 65_000, headersTimeout: 66_000 });
  const app = next({ dev, hostname: cfg.host, port: cfg.port, httpServer: server, dir: process.cwd() });
  const handle = app.getRequestHandler();
  await app.prepare();

  const lean: LeanDeps = { db, log, targetAuthFailureRate: cfg.targetAuthFailureRate, metricsToken: cfg.metricsToken };
  // One address's share of Next's pipeline (lib/http/fair-share.ts).
  const inflight = cfg.maxInflightPerAddress > 0 ? new InflightCap(cfg.maxInflightPerAddress) : null;
  server.on("request", (req, res) => {
    const clientIp = trustForwarding(req, cfg.trustProxy);
    // Key lookups, probes, metrics and refused key generations: answered here, ahead of Next's pipeline.
    if (serveLean(req, res, clientIp, lean)) return;
    if (inflight && !inflight.admit(clientIp, res)) return refuseOverCap(res);
    handle(req, res).catch((err: unknown) => {
      // The URL without its query: query strings carry tokens (setup links, tickets).
      if (isDatabaseUnavailable(err)) reportDatabaseError(err);
      else log.error({ err, path: (req.url ?? "").split("?")[0] }, "request failed");
      if (!res.headersSent) {
        const status = isDatabaseUnavailable(err) ? 503 : 500;
        const body = JSON.stringify(
          errorBody(status === 503 ? "unavailable" : "internal_error", status === 503 ? UNAVAILABLE_MESSAGE : "Something went wrong on our side."),
        );
        res
          .writeHead(status, {
            "Content-Type": "application/json; charset=utf-8",
            "Cache-Control": "no-store",
            ...(status === 503 ? { "Retry-After": String(OUTAGE_RETRY_AFTER_SECONDS) } : {}),
          })
          .end(body);
      }
    });
  });
  server.prependListener("upgrade", (req) => trustForwarding(req, cfg.trustProxy));
  const { attachTerminalGateway } = await import("@/lib/terminal/server/gateway");
  attachTerminalGateway(server, log);

  // Issued before listening: with MESHIA_SETUP_TOKEN, provisioning scripts post the
  // known token as soon as the port answers, and must not find it missing.
  const setupToken = await issueSetupToken(db, cfg.auth.setupToken);
  await new Promise<void>((resolve) => server.listen(cfg.port, cfg.host, resolve));
  // The key pool starts filling now, in the background, so the first Generate is instant too.
  workspaceKeyPool();
  // Memory a busy spell (a flood) left in V8's heap goes back once it is quiet (lib/memory.ts).
  if (cfg.idleGc) startIdleCollector({ log, onCollect: () => metrics().idleCollections.inc() });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : cfg.port;
  const host = cfg.host.includes(":") ? `[${cfg.host}]` : cfg.host;
  const origin = cfg.publicUrl ?? `http://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${port}`;
  const url = `${origin}/w/${workspace.id}`;
  // Other instances on this Postgres proxy sockets of sessions held here (and we theirs).
  const cluster: Cluster | null =
    kind === "postgres"
      ? await joinCluster(db, log, { url: deriveInstanceUrl(cfg.cluster.instanceUrl, cfg.host, port), deadAfterMs: cfg.cluster.deadAfterMs })
      : null;
  log.info(
    {
      url,
      port,
      localTarget: local ? { state: local.state, port: local.target?.port ?? null } : election ? "another instance runs it (leader election)" : null,
    },
    "listening",
  );
  // The lines a person looks for: not JSON, on stderr so logs stay machine-readable
  // (and the setup token never enters the JSON log).
  process.stderr.write(`\nMeshia SSH access is running at ${url}\n`);
  if (local?.state === "unavailable") {
    process.stderr.write("The embedded compute target starts no shells here: see the Targets page (or the log) for why and the fix.\n");
  }
  if (setupToken) {
    process.stderr.write(`No account exists yet. Create the owner account (this link works once):\n  ${origin}/setup?token=${setupToken}\n`);
  }
  process.stderr.write("\n");

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // SIGTERM (an orchestrator replacing this instance) drains: not ready, no new
    // terminals, open ones get the grace period. SIGINT (Ctrl-C) stops at once.
    const grace = signal === "SIGTERM" ? cfg.drainGraceMs : 0;
    log.info({ signal, graceSeconds: grace / 1000 }, "shutting down");
    startDraining();
    const force = setTimeout(() => process.exit(1), grace + 10_000);
    force.unref();
    try {
      const { sessionRegistry } = await import("@/lib/terminal/server/registry");
      const registry = sessionRegistry();
      const deadline = Date.now() + grace;
      while (registry.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      if (registry.size) log.info({ sessions: registry.size }, "grace period over: ending the remaining terminal sessions");
      await registry.closeAll("This Meshia instance is shutting down; open a new terminal to continue.");
      await election?.stop(); // stops the embedded target here and lets another instance take it
      await cluster?.stop();
      await stopListening();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await (await appDatabase()).close();
    } catch (err) {
      log.error({ err }, "error during shutdown");
    }
    process.exit(0);
  };
  // A rejected promise nobody awaited is a bug, but one session's bug must not take
  // down everyone's terminals: log it loudly and keep serving.
  process.on("unhandledRejection", (err) => log.error({ err }, "unhandled promise rejection"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((err: unknown) => {
  logger().fatal({ err }, "failed to start");
  process.stderr.write(`\nMeshia SSH access failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
