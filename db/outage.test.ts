// The database going away under a real node-postgres pool (a TCP proxy in front of
// the machine's Postgres, cut and restored): errors are recognised as an outage, the
// pool's idle-client errors are handled (no uncaughtException), the log has one line
// per outage and one on recovery, and queries work again without reopening anything.
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { sql } from "drizzle-orm";
import pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serializeError, loggerGlobal } from "@/lib/log";
import { databaseGlobal, openDatabase, type Database } from "./client";
import { databaseDown, DatabaseUnavailableError, isDatabaseUnavailable, pingDatabase, outageState, reportDatabaseError, reportDatabaseOk } from "./outage";
import { CuttableProxy } from "./tcp-proxy";
import * as authRoute from "@/app/api/auth/[...all]/route";
import * as workspacesRoute from "@/app/api/workspaces/route";
import { authGlobal } from "@/lib/auth/auth";
import { createToken } from "@/lib/workspaces/tokens";
import { setUpOwner, useTestAuth } from "@/lib/auth/testing";

const lines: string[] = [];
const capture = () => pino({ serializers: { err: serializeError } }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
const events = (name: string) => lines.filter((l) => l.includes(`"event":"${name}"`));

describe("recognising an outage", () => {
  it("knows connection failures from other errors, through causes", () => {
    expect(isDatabaseUnavailable(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }))).toBe(true);
    expect(isDatabaseUnavailable(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }))).toBe(true);
    expect(isDatabaseUnavailable(new Error("Failed query: select 1", { cause: Object.assign(new Error("x"), { code: "08006" }) }))).toBe(true);
    expect(isDatabaseUnavailable(new DatabaseUnavailableError())).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error("duplicate key"), { code: "23505" }))).toBe(false);
    expect(isDatabaseUnavailable(new Error("something else"))).toBe(false);
  });

  it("logs one line per outage however many calls fail, and one when it ends", () => {
    lines.length = 0;
    loggerGlobal.set(capture());
    outageState.resetForTests();
    for (let i = 0; i < 20; i++) reportDatabaseError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
    expect(databaseDown()).toBe(true);
    reportDatabaseOk();
    reportDatabaseOk();
    expect(databaseDown()).toBe(false);
    expect(events("database.unreachable")).toHaveLength(1);
    const recovered = JSON.parse(events("database.recovered")[0]!) as { failedCalls: number };
    expect(recovered.failedCalls).toBe(20);
    expect(events("database.recovered")).toHaveLength(1);
    loggerGlobal.resetForTests();
  });
});

const URL_ = process.env.DATABASE_URL;
const ORIGIN = "http://127.0.0.1:3000";
const HOST = "127.0.0.1:3000";
const PASSWORD = "correct horse battery";

describe.skipIf(!URL_)("a Postgres outage through a cut proxy (DATABASE_URL)", () => {
  let proxy: CuttableProxy;
  let handle: Database;
  const name = `meshia_outage_${randomBytes(5).toString("hex")}`;
  const admin = async (q: string) => {
    const c = new pg.Client({ connectionString: URL_ });
    await c.connect();
    await c.query(q);
    await c.end();
  };
  const owner = { cookie: "", token: "" };
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);

  beforeAll(async () => {
    await admin(`CREATE DATABASE ${name}`);
    const base = new URL(URL_!);
    proxy = new CuttableProxy({ host: base.hostname, port: Number(base.port || 5432) });
    await proxy.start();
    base.port = String(proxy.port);
    base.pathname = `/${name}`;
    handle = await openDatabase({ url: base.toString() });
    databaseGlobal.set(Promise.resolve(handle));
    const auth = useTestAuth(handle.db);
    const done = await setUpOwner(handle.db, auth, { password: PASSWORD });
    owner.cookie = done.cookie;
    owner.token = (await createToken(handle.db, auth, { userId: done.userId, workspaceId: done.workspaceId, name: "t" })).token;
    process.on("uncaughtException", onUncaught);
  });
  afterAll(async () => {
    process.off("uncaughtException", onUncaught);
    await handle?.close().catch(() => undefined);
    await proxy?.cut();
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    loggerGlobal.resetForTests();
    databaseGlobal.resetForTests();
    authGlobal.resetForTests();
  });

  it("fails fast and recognisably while cut, logs it once, and recovers when restored", async () => {
    lines.length = 0;
    loggerGlobal.set(capture());
    outageState.resetForTests();
    // Idle connections in the pool: the cut hits them where nobody is querying.
    await Promise.all([1, 2, 3].map(() => handle.db.execute(sql`SELECT pg_sleep(0.05)`)));
    await proxy.cut();
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 5; i++) {
      const err = await handle.db.execute(sql`SELECT 1`).catch((e: unknown) => e);
      expect(isDatabaseUnavailable(err)).toBe(true);
    }
    expect(await pingDatabase(handle.db)).toBe(false);
    expect(uncaught).toEqual([]);
    expect(events("database.unreachable")).toHaveLength(1);

    // What callers see: a session cookie and an API token give 503 unavailable with
    // Retry-After (not 401 "sign in"), and sign-in gives a JSON 503 (not an empty 500).
    for (const headers of [{ cookie: owner.cookie }, { authorization: `Bearer ${owner.token}` }] as Record<string, string>[]) {
      const res = await workspacesRoute.GET(new Request(`${ORIGIN}/api/workspaces`, { headers: { host: HOST, ...headers } }), { params: Promise.resolve({}) });
      expect(res.status, Object.keys(headers)[0]).toBe(503);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unavailable");
    }
    const signIn = await authRoute.POST(
      new Request(`${ORIGIN}/api/auth/sign-in/email`, {
        method: "POST",
        headers: { host: HOST, origin: ORIGIN, "content-type": "application/json", "x-forwarded-for": "10.9.9.9" },
        body: JSON.stringify({ email: "owner@example.com", password: PASSWORD }),
      }),
      { params: Promise.resolve({ all: ["sign-in", "email"] }) },
    );
    expect(signIn.status).toBe(503);
    expect(((await signIn.json()) as { error: { code: string } }).error.code).toBe("unavailable");
    expect(events("database.unreachable")).toHaveLength(1);

    await proxy.start();
    expect(await pingDatabase(handle.db)).toBe(true);
    const back = await workspacesRoute.GET(new Request(`${ORIGIN}/api/workspaces`, { headers: { host: HOST, cookie: owner.cookie } }), {
      params: Promise.resolve({}),
    });
    expect(back.status).toBe(200);
    expect(((await handle.db.execute(sql`SELECT 1 AS one`)) as unknown as { rows: unknown[] }).rows).toEqual([{ one: 1 }]);
    expect(events("database.recovered")).toHaveLength(1);
    expect(databaseDown()).toBe(false);
  });
});
