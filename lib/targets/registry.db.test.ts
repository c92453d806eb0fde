// The registry against real databases (PGlite, and Postgres when DATABASE_URL is set):
// host-key pinning per boot, and the audit trail the issue promises.
import ssh2 from "ssh2";
import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditEvents } from "@/db/schema";
import { testDatabases } from "@/db/testing";
import { createWorkspace } from "@/lib/workspaces/workspaces";
import { HostKeyChangedError, findTarget, recordBoot, registerTarget, removeTarget } from "./registry";

function hostKey(): string {
  return ssh2.utils.generateKeyPairSync("ed25519").public;
}

for (const tdb of testDatabases()) {
  describe(`target registry (${tdb.name})`, () => {
    let handle: Awaited<ReturnType<typeof tdb.open>>;
    beforeAll(async () => {
      handle = await tdb.open();
    });
    afterAll(async () => handle?.dispose());

    it("pins host keys per boot: other keys within a boot are refused and audited, a new boot re-pins", async () => {
      const { db } = handle;
      const ws = await createWorkspace(db, { name: "w" });
      const { target, token } = await registerTarget(db, { workspaceId: ws!.id, name: "t", kind: "openssh", host: "127.0.0.2", port: 22 });
      expect(token).toMatch(/^mtt_/);
      expect(target.tokenHash).not.toContain(token!.slice(4));

      const [k1, k2] = [hostKey(), hostKey()];
      const booted = await recordBoot(db, target, { bootId: "b1", port: 22, hostKeys: [k1] });
      await expect(recordBoot(db, booted, { bootId: "b1", port: 22, hostKeys: [k2] })).rejects.toBeInstanceOf(HostKeyChangedError);
      const after = await findTarget(db, target.id);
      expect(after!.hostKeys).toBe(booted.hostKeys);
      const mismatch = await db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.workspaceId, ws!.id), eq(auditEvents.action, "target.host-key-mismatch")));
      expect(mismatch).toHaveLength(1);
      expect(mismatch[0]!.detail).toMatchObject({ targetId: target.id, bootId: "b1", pinned: booted.hostKeyFingerprint });

      const rebooted = await recordBoot(db, after!, { bootId: "b2", port: 22, hostKeys: [k2] });
      expect(rebooted.hostKeyFingerprint).not.toBe(booted.hostKeyFingerprint);

      await removeTarget(db, rebooted, null);
      expect(await findTarget(db, target.id)).toBeNull();
      const actions = (await db.select().from(auditEvents).where(eq(auditEvents.workspaceId, ws!.id)).orderBy(asc(auditEvents.at))).map((e) => e.action);
      expect(actions).toEqual(["workspace.created", "target.registered", "target.boot", "target.host-key-mismatch", "target.boot", "target.removed"]);
    });
  });
}
