import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "@/db/testing";
import { auditEvents, workspaceKeys } from "@/db/schema";
import { ensureDefaultWorkspace } from "@/lib/workspaces/workspaces";
import { currentKey, revokeKey, saveKey } from "./store";
import { generateWorkspaceKey } from "./workspace-key";

describe.each(testDatabases())("workspace key store on $name", (tdb) => {
  let handle: Awaited<ReturnType<typeof tdb.open>>;
  let workspaceId: string;
  beforeAll(async () => {
    handle = await tdb.open();
    workspaceId = (await ensureDefaultWorkspace(handle.db)).id;
  });
  afterAll(async () => handle?.dispose());

  it("keeps only public material: the line, its fingerprint, the algorithm and the save time", async () => {
    const { pem, ...pub } = await generateWorkspaceKey("t");
    const row = await saveKey(handle.db, workspaceId, pub, null);
    expect(row.publicKey).toBe(pub.publicKey);
    expect(row.fingerprint).toBe(pub.fingerprint);
    const all = JSON.stringify(await handle.db.select().from(workspaceKeys));
    expect(all).not.toContain("PRIVATE KEY");
    expect(all).not.toContain(pem.split("\n")[5]!);
  });

  it("regenerating revokes the previous key in the same transaction and audits both", async () => {
    const first = (await currentKey(handle.db, workspaceId))!;
    const { pem: _p, ...next } = await generateWorkspaceKey("t");
    await saveKey(handle.db, workspaceId, next, null);
    const current = await currentKey(handle.db, workspaceId);
    expect(current?.fingerprint).toBe(next.fingerprint);
    const history = await handle.db.select().from(workspaceKeys).where(eq(workspaceKeys.workspaceId, workspaceId));
    const old = history.find((k) => k.id === first.id)!;
    expect(old.revokedAt).not.toBeNull();
    const events = await handle.db.select().from(auditEvents).where(eq(auditEvents.workspaceId, workspaceId));
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(["key.generated", "key.regenerated"]));
  });

  it("concurrent saves leave exactly one current key: the last to commit", async () => {
    const keys = await Promise.all([1, 2, 3, 4].map(() => generateWorkspaceKey("t")));
    const committed: string[] = [];
    await Promise.all(
      keys.map(async ({ pem: _p, ...k }) => {
        await saveKey(handle.db, workspaceId, k, null);
        committed.push(k.fingerprint);
      }),
    );
    const current = await handle.db.select().from(workspaceKeys).where(eq(workspaceKeys.workspaceId, workspaceId));
    const live = current.filter((k) => k.revokedAt === null);
    expect(live).toHaveLength(1);
    // Which save committed last is the database's order; the order the client saw the
    // answers in can differ (separate pool connections), so: one of them, all others revoked.
    expect(committed).toContain(live[0]!.fingerprint);
    expect(current.filter((k) => committed.includes(k.fingerprint) && k.revokedAt !== null)).toHaveLength(3);
  });

  it("revoke leaves no current key, and a second revoke finds nothing", async () => {
    const revoked = await revokeKey(handle.db, workspaceId, null);
    expect(revoked?.revokedAt).not.toBeNull();
    expect(await currentKey(handle.db, workspaceId)).toBeNull();
    expect(await revokeKey(handle.db, workspaceId, null)).toBeNull();
  });
});
