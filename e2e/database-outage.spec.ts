// When Postgres goes away and comes back, without restarting Meshia: a TCP proxy
// (node net) sits between the app and the machine's Postgres; cutting it is the
// outage. API calls answer 503 `unavailable` with Retry-After (a session cookie is
// not "signed out", sign-in is not an empty 500), pages say the database cannot be
// reached (not the sign-in page), target key lookups fail closed, the log has one
// line for the outage, and everything works again once the proxy is back.
import pg from "pg";
import { startServer, type BenchServer } from "../bench/lib/server";
import { cleanup } from "../bench/lib/cleanup";
import { CuttableProxy } from "../db/tcp-proxy";
import { expect, test } from "./support/fixtures";

const DATABASE_URL = process.env.DATABASE_URL;

test.describe("a database outage", () => {
  test.skip(
    !DATABASE_URL,
    "needs DATABASE_URL (the machine's Postgres): the outage is made by cutting a TCP proxy in front of it; PGlite is in-process and cannot go away",
  );
  test.setTimeout(240_000);

  let proxy: CuttableProxy;
  let server: BenchServer;
  let dbName = "";

  test.beforeAll(async () => {
    test.setTimeout(180_000);
    const admin = new URL(DATABASE_URL!);
    if (!["127.0.0.1", "localhost", "::1", "[::1]"].includes(admin.hostname))
      throw new Error("DATABASE_URL must be a local Postgres (this test creates and drops a database)");
    dbName = `meshia_outage_${Date.now().toString(36)}`;
    const c = new pg.Client({ connectionString: DATABASE_URL });
    await c.connect();
    await c.query(`CREATE DATABASE ${dbName}`);
    await c.end();
    proxy = new CuttableProxy({ host: admin.hostname, port: Number(admin.port || 5432) });
    await proxy.start();
    const viaProxy = new URL(DATABASE_URL!);
    viaProxy.port = String(proxy.port);
    viaProxy.pathname = `/${dbName}`;
    server = await startServer({
      name: "outage",
      env: { DATABASE_URL: viaProxy.toString(), MESHIA_LOCAL_TARGET: "off", LOG_LEVEL: "info", MESHIA_SIGNIN_RATE: "1000/10" },
    });
  });

  test.afterAll(async () => {
    await cleanup(); // the server, then its data directory
    await proxy?.cut();
    if (dbName) {
      const c = new pg.Client({ connectionString: DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await c.end();
    }
  });

  test("answers 503 meanwhile, says so on pages, logs it once, and recovers without a restart", async ({ browser }) => {
    const base = server.base;
    const asCookie = { cookie: server.cookie };
    const get = (path: string, headers: Record<string, string>) => fetch(`${base}${path}`, { headers });
    const signIn = () =>
      fetch(`${base}/api/auth/sign-in/email`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: base },
        body: JSON.stringify({ email: "bench@example.com", password: "not-the-password-1" }),
      });

    // Before: everything answers.
    expect((await get("/api/workspaces", asCookie)).status).toBe(200);
    expect((await get("/api/workspaces", server.auth)).status).toBe(200);
    expect((await signIn()).status).toBe(401);
    const linesBefore = server
      .stdout()
      .split("\n")
      .filter((l) => l.includes('"database.unreachable"')).length;
    expect(linesBefore).toBe(0);

    await proxy.cut();

    // API calls, with a session cookie and with an API token: 503 unavailable, Retry-After.
    for (let i = 0; i < 5; i++) {
      for (const headers of [asCookie, server.auth]) {
        const res = await get("/api/workspaces", headers);
        expect(res.status).toBe(503);
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unavailable");
      }
    }
    // Sign-in: a JSON 503, not an empty 500.
    const s = await signIn();
    expect(s.status).toBe(503);
    expect(((await s.json()) as { error: { code: string } }).error.code).toBe("unavailable");
    // Readiness says so; a target's key lookup fails closed (no keys, a 503 sshd's script refuses).
    expect((await get("/readyz", {})).status).toBe(503);
    const lookup = await get("/api/targets/00000000-0000-4000-8000-000000000000/authorized-keys?user=mesh", {
      authorization: "Bearer mtt_0000000000000000000000000000",
    });
    expect(lookup.status).toBe(503);

    // A page says Meshia cannot reach its database, and does not ask to sign in.
    const context = await browser.newContext();
    const [name, value] = server.cookie.split(";")[0]!.split("=") as [string, string];
    await context.addCookies([{ name, value, url: base }]);
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await expect(page.getByText("Meshia cannot reach its database")).toBeVisible();
    expect(new URL(page.url()).pathname).not.toBe("/sign-in");

    // One structured line for the whole outage, not one per failed call.
    const outageLines = server
      .stdout()
      .split("\n")
      .filter((l) => l.includes('"database.unreachable"'));
    expect(outageLines).toHaveLength(1);
    expect(() => JSON.parse(outageLines[0]!)).not.toThrow();
    expect(server.stdout() + server.stderr()).not.toMatch(/uncaughtException|Connection terminated unexpectedly\n\s+at /);

    // Back: the same process answers again.
    await proxy.start();
    await expect.poll(async () => (await get("/api/workspaces", asCookie)).status, { timeout: 30_000 }).toBe(200);
    expect((await get("/api/workspaces", server.auth)).status).toBe(200);
    expect((await signIn()).status).toBe(401);
    await expect.poll(async () => (await get("/readyz", {})).status, { timeout: 10_000 }).toBe(200);
    await page.goto(`${base}/`);
    await expect(page).toHaveURL(/\/w\/[0-9a-f-]{36}/);
    await expect.poll(() => server.stdout().includes('"database.recovered"')).toBe(true);
    await context.close();
  });
});
