// The database handle: node-postgres when DATABASE_URL is set, embedded PGlite in
// the data directory otherwise. Migrations are applied when the handle is opened.
import "@/lib/server-only";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import * as schema from "./schema";
import { config } from "@/lib/config";
import { processGlobal } from "@/lib/global";
import { reportDatabaseError, reportDatabaseOk } from "./outage";

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export interface Database {
  db: Db;
  kind: "postgres" | "pglite";
  close(): Promise<void>;
}

function migrationsFolder(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), "migrations");
}

export type DatabaseOptions = { url: string } | { dataDir: string } | { memory: true };

/** Opens a database and brings its schema up to date. The caller owns close(). */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if ("url" in opts) {
    const { Pool } = (await import("pg")).default;
    const { drizzle } = await import("drizzle-orm/node-postgres");
    const { migrate } = await import("drizzle-orm/node-postgres/migrator");
    // A database that does not answer fails a query in 5 s rather than holding it forever.
    const pool = new Pool({ connectionString: opts.url, max: 10, connectionTimeoutMillis: 5000 });
    // An idle client whose connection drops emits 'error' on the pool; unhandled, that
    // is an uncaughtException dump per connection. Here it is one line per outage.
    pool.on("error", (err) => reportDatabaseError(err));
    pool.on("connect", () => reportDatabaseOk());
    const db = drizzle(pool, { schema });
    await migrate(db, { migrationsFolder: migrationsFolder() });
    return { db: db as unknown as Db, kind: "postgres", close: () => pool.end() };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const { migrate } = await import("drizzle-orm/pglite/migrator");
  let client;
  if ("dataDir" in opts) {
    // PGlite creates only the last folder of the path.
    mkdirSync(path.dirname(opts.dataDir), { recursive: true });
    client = new PGlite(opts.dataDir);
  } else {
    client = new PGlite();
  }
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder: migrationsFolder() });
  return { db: db as unknown as Db, kind: "pglite", close: () => client.close() };
}

/** Opened by the first appDatabase() call; a test sets its own database here. */
export const databaseGlobal = processGlobal<Promise<Database> | null>("database", () => null);

/** The app's database, opened once per process from the configuration. */
export async function appDatabase(): Promise<Database> {
  let pending = databaseGlobal.get();
  if (!pending) {
    const c = config();
    pending = databaseGlobal.set(openDatabase(c.databaseUrl ? { url: c.databaseUrl } : { dataDir: path.join(c.dataDir, "pgdata") }));
    // A failed open is tried again by the next caller.
    pending.catch(() => databaseGlobal.set(null));
  }
  return pending;
}

/** The app's Drizzle instance (what domain functions take as `db`). */
export async function appDb(): Promise<Db> {
  return (await appDatabase()).db;
}
