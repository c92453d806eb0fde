// Databases for tests: embedded PGlite always, and the machine's Postgres too when
// DATABASE_URL is set (each run in a database of its own, dropped afterwards).
import { randomBytes } from "node:crypto";
import { openDatabase, type Database, type Db } from "./client";
import { user } from "./schema";

export interface TestDatabase {
  name: "pglite" | "postgres";
  /** `url` (Postgres only) reaches the same database: a second pool, a LISTEN connection, another "instance". */
  open(): Promise<Database & { dispose(): Promise<void>; url?: string }>;
}

function assertLocal(url: URL): void {
  // Tests create and drop databases: never against anything but this machine.
  if (!["127.0.0.1", "localhost", "::1", "[::1]", ""].includes(url.hostname)) {
    throw new Error(`refusing to run database tests against non-local ${url.hostname}`);
  }
}

export function testDatabases(env: NodeJS.ProcessEnv = process.env): TestDatabase[] {
  const list: TestDatabase[] = [
    {
      name: "pglite",
      async open() {
        const db = await openDatabase({ memory: true });
        return { ...db, dispose: () => db.close() };
      },
    },
  ];
  const url = env.DATABASE_URL;
  if (url) {
    list.push({
      name: "postgres",
      async open() {
        const base = new URL(url);
        assertLocal(base);
        const name = `meshia_test_${randomBytes(6).toString("hex")}`;
        const pg = (await import("pg")).default;
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        await admin.query(`CREATE DATABASE ${name}`);
        await admin.end();
        const dbUrl = new URL(url);
        dbUrl.pathname = `/${name}`;
        const db = await openDatabase({ url: dbUrl.toString() });
        return {
          ...db,
          url: dbUrl.toString(),
          async dispose() {
            await db.close();
            const a = new pg.Client({ connectionString: url });
            await a.connect();
            await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
            await a.end();
          },
        };
      },
    });
  }
  return list;
}

/** A user row with a unique email, for tests that need someone to own or join things; returns its id. */
export async function insertTestUser(db: Db): Promise<string> {
  const [u] = await db
    .insert(user)
    .values({ name: "U", email: `u-${crypto.randomUUID()}@example.com` })
    .returning();
  return u!.id;
}
