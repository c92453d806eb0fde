// Browser tests against the real server (production build), a real SSH client and
// real targets. The server gets a fresh data directory (embedded PGlite) per run.
//
// Projects, in order:
//   setup        e2e/auth.setup.ts: before any account exists; opens the setup link in
//                the browser, creates the owner account, saves its session.
//   e2e          every spec, as that owner (`page`, `context` and `request` carry the
//                owner's session; other people are made by e2e/support/auth.ts).
//   secret-scan  e2e/secret-scan.ts: the database, the server log and every recorded
//                response hold no private key material. It is setup's teardown, so it
//                runs after the specs even when some of them failed.
import { defineConfig } from "@playwright/test";
import { e2e } from "./e2e/support/env";

export { e2e };
// Workers read these (they re-evaluate this file with the same environment).
process.env.E2E_DATA_DIR = e2e.dataDir;
process.env.E2E_SERVER_LOG = e2e.serverLog;

const fresh = [e2e.dataDir, e2e.volumesDir, e2e.responsesDir, `${e2e.dataDir}-auth`].map((d) => `'${d}'`).join(" ");

export default defineConfig({
  testDir: "e2e",
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
  projects: [
    { name: "setup", testMatch: "auth.setup.ts", teardown: "secret-scan" },
    { name: "e2e", testMatch: "**/*.spec.ts", dependencies: ["setup"], use: { storageState: e2e.ownerState } },
    { name: "secret-scan", testMatch: "secret-scan.ts", use: { storageState: e2e.ownerState } },
  ],
  webServer: {
    command: `rm -rf ${fresh} && mkdir -p '${e2e.responsesDir}' && exec node --import tsx server.ts > '${e2e.serverLog}' 2>&1`,
    // 401 counts as up for Playwright; nobody is signed in yet.
    url: `${e2e.baseURL}/api/workspaces`,
    timeout: 120_000,
    reuseExistingServer: false,
    env: {
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      HOST: "127.0.0.1",
      PORT: String(e2e.port),
      MESHIA_DATA_DIR: e2e.dataDir,
      MESHIA_VOLUMES_DIR: e2e.volumesDir,
      MESHIA_TARGET_PORTS: e2e.targetPorts,
      MESHIA_PUBLIC_URL: e2e.baseURL,
      // The server runs on embedded PGlite, as on a fresh machine.
      DATABASE_URL: "",
      LOG_LEVEL: "info",
      // Short-lived terminal tickets (default 30 s), so the expiry test waits seconds,
      // not half a minute. The browser uses a ticket within milliseconds of getting it.
      MESHIA_TICKET_TTL: "5",
      // Sessions some specs keep open across many tests (bad-input's "other session")
      // must outlive a slow run; no spec waits for the grace period to pass.
      MESHIA_SESSION_GRACE: "3600",
      // With that grace the owner's sessions add up over the suite: its cap is not what
      // these specs are about (session-caps.spec.ts fills the unused-ticket cap instead).
      MESHIA_MAX_SESSIONS_PER_USER: "1000",
      // bad-input takes a resume ticket around every row (5 s TTL): more than the default
      // 20 can be outstanding at once. session-caps.spec.ts fills this cap (it tries 200).
      MESHIA_MAX_TICKETS_PER_USER: "100",
      // The setup link the setup project opens (the server prints it on stderr too).
      MESHIA_SETUP_TOKEN: e2e.setupToken,
      // The sign-in limit keys on the client address: the suite signs in from
      // 127.0.0.1, the limit test from another loopback address with its own bucket.
      MESHIA_SIGNIN_RATE: `${e2e.signInRate.max}/${e2e.signInRate.windowSeconds}`,
      // Every spec generates keys; the limit is for people, not this suite.
      MESHIA_KEYGEN_RATE: "1000/60",
      MESHIA_KEYGEN_USER_RATE: "1000/60",
      MESHIA_WORKSPACE_CREATE_RATE: "1000/60",
      // The OpenSSH test targets listen on 127.0.0.2 and 127.0.0.3; every other
      // loopback address (the embedded target's and the server's own included) stays refused.
      MESHIA_TARGET_ALLOWED_NETWORKS: "127.0.0.2/32,127.0.0.3/32",
    },
  },
});
