// Browser tests against the real server (production build), a real SSH client and
// real targets. The server gets a fresh data directory (embedded PGlite) per run.
import path from "node:path";
import { defineConfig } from "@playwright/test";

const port = Number(process.env.E2E_PORT ?? 3210);
const dataDir = path.resolve(process.env.E2E_DATA_DIR ?? ".tmp/e2e-data");
const targetPorts = process.env.E2E_TARGET_PORTS ?? "23500-23599";
export const e2e = { port, dataDir, baseURL: `http://127.0.0.1:${port}`, serverLog: `${dataDir}.log` };
// Workers read these (they re-evaluate this file with the same environment).
process.env.E2E_DATA_DIR = dataDir;
process.env.E2E_SERVER_LOG = e2e.serverLog;

export default defineConfig({
  testDir: "e2e",
  testMatch: "**/*.spec.ts",
  // One server, one default workspace with one embedded target: the specs share it,
  // so they run one at a time.
  workers: 1,
  fullyParallel: false,
  timeout: 90_000,
  expect: { timeout: 10_000 },
  retries: 0,
  reporter: [["list"], ["json", { outputFile: process.env.E2E_JSON ?? ".tmp/e2e-results.json" }]],
  globalSetup: "./e2e/support/global-setup.ts",
  use: {
    baseURL: e2e.baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
      ],
    },
  },
  webServer: {
    command: `rm -rf '${dataDir}' && mkdir -p '${path.dirname(dataDir)}' && exec node --import tsx server.ts > '${e2e.serverLog}' 2>&1`,
    url: `${e2e.baseURL}/api/workspaces`,
    timeout: 120_000,
    reuseExistingServer: false,
    env: {
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      HOST: "127.0.0.1",
      PORT: String(port),
      MESHIA_DATA_DIR: dataDir,
      MESHIA_TARGET_PORTS: targetPorts,
      MESHIA_PUBLIC_URL: `http://127.0.0.1:${port}`,
      // The server runs on embedded PGlite, as on a fresh machine.
      DATABASE_URL: "",
      LOG_LEVEL: "info",
      // Short-lived terminal tickets (default 30 s), so the expiry test waits seconds,
      // not half a minute. The browser uses a ticket within milliseconds of getting it.
      MESHIA_TICKET_TTL: "5",
    },
  },
});
