// Where the browser tests' server, data and records live, and the owner account the
// setup project creates. Read by playwright.config.ts and by the tests (workers
// evaluate this module again with the same environment).
import path from "node:path";

const port = Number(process.env.E2E_PORT ?? 3210);
const dataDir = path.resolve(process.env.E2E_DATA_DIR ?? ".tmp/e2e-data");

export const e2e = {
  port,
  baseURL: `http://127.0.0.1:${port}`,
  origin: `http://127.0.0.1:${port}`,
  targetPorts: process.env.E2E_TARGET_PORTS ?? "23500-23599",
  /** The server's data directory (embedded PGlite, keys/), fresh per run. */
  dataDir,
  serverLog: `${dataDir}.log`,
  /** MESHIA_VOLUMES_DIR of the server under test (volumes live outside the data directory), fresh per run. */
  volumesDir: `${dataDir}-volumes`,
  /** Every HTTP response the tests received (e2e/support/record.ts), scanned by e2e/secret-scan.ts. */
  responsesDir: `${dataDir}-responses`,
  /** The owner's browser session, saved by e2e/auth.setup.ts. */
  ownerState: `${dataDir}-auth/owner.json`,
  sshdDir: `${dataDir}-sshd`,
  /** MESHIA_SETUP_TOKEN of the server under test: the setup link is /setup?token=… */
  setupToken: "e2e-setup-token-6f1d0c9a8b7e",
  owner: { name: "Olive Owner", email: "owner@e2e.example", password: "owner-password-e2e-1" },
  /** MESHIA_SIGNIN_RATE: high enough that the suite is never throttled, a short window for the limit test. */
  signInRate: { max: 30, windowSeconds: 5 },
} as const;
