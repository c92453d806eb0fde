import { readFileSync } from "node:fs";
import { getTableName, is, sql } from "drizzle-orm";
import { PgTable } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as schema from "./schema";
import { testDatabases } from "./testing";

/** Every table the Drizzle schema declares (ours and better-auth's). */
const TABLES = (Object.values(schema) as unknown[])
  .filter((v): v is PgTable => is(v, PgTable))
  .map((t) => getTableName(t))
  .sort();
const JOURNAL = JSON.parse(readFileSync(new URL("./migrations/meta/_journal.json", import.meta.url), "utf8")) as { entries: { tag: string }[] };

describe.each(testDatabases())("migrations on $name", (tdb) => {
  let handle: Awaited<ReturnType<typeof tdb.open>>;
  beforeAll(async () => {
    handle = await tdb.open();
  });
  afterAll(async () => handle?.dispose());

  it("create every table of the schema", async () => {
    const rows = await handle.db.execute<{ table_name: string }>(
      sql`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    const names = (rows as unknown as { rows: { table_name: string }[] }).rows.map((r) => r.table_name);
    expect(TABLES.length).toBeGreaterThanOrEqual(12);
    expect(names).toEqual(expect.arrayContaining(TABLES));
  });

  it("are recorded, and applying them again changes nothing", async () => {
    const { migrate } = handle.kind === "pglite" ? await import("drizzle-orm/pglite/migrator") : await import("drizzle-orm/node-postgres/migrator");
    const folder = new URL("./migrations", import.meta.url).pathname;
    // @ts-expect-error -- both migrators accept this database at runtime; their declared types differ
    await migrate(handle.db, { migrationsFolder: folder });
    const res = await handle.db.execute<{ n: number }>(sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`);
    const n = (res as unknown as { rows: { n: number }[] }).rows[0]!.n;
    // One row per migration in the journal: each applied once, none twice.
    expect(n).toBe(JOURNAL.entries.length);
  });

  it("allow one current key per workspace at most", async () => {
    const ws = await handle.db.execute<{ id: string }>(sql`INSERT INTO organization (name, slug, created_at) VALUES ('m', 'm', now()) RETURNING id`);
    const id = (ws as unknown as { rows: { id: string }[] }).rows[0]!.id;
    await handle.db.execute(sql`INSERT INTO workspace_keys (workspace_id, public_key, fingerprint, algorithm) VALUES (${id}, 'a', 'f1', 'RSA-3072')`);
    await expect(
      handle.db.execute(sql`INSERT INTO workspace_keys (workspace_id, public_key, fingerprint, algorithm) VALUES (${id}, 'b', 'f2', 'RSA-3072')`),
    ).rejects.toThrow();
  });
});
