// Changes end terminal sessions wherever they are held. In one process (PGlite, or any
// database): the real domain functions (removeMember, revokeToken, markStopped,
// rotateBridgeCredential, removeTarget) publish, and the session registry ends the
// affected sessions before the call returns. Across instances (Postgres): two event
// buses, each LISTENing on its own connection as two app instances would, each with its
// own session registry; a change published through B ends the session held by A
// within 1 s, and nothing else.
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { insertTestUser, testDatabases } from "@/db/testing";
import { EventBus, type MeshiaEvent } from "@/lib/events";
import { markStopped, registerTarget, removeTarget, rotateBridgeCredential } from "@/lib/targets/registry";
import { addMember, removeMember } from "@/lib/workspaces/members";
import { createWorkspace } from "@/lib/workspaces/workspaces";
import { revokeToken } from "@/lib/workspaces/tokens";
import { apikey } from "@/db/schema";
import { ENDED_BRIDGE_ROTATED, ENDED_MEMBER_REMOVED, ENDED_TARGET_REMOVED, ENDED_TOKEN_REVOKED, SessionRegistry, sessionRegistry } from "./registry";
import type { SessionEnd } from "./session-deps";

const log = pino({ level: "silent" });

/** A session that never connects (its SSH side is not the point here); records how it ended. */
function openSession(registry: SessionRegistry, s: { workspaceId: string; targetId: string; userId: string; tokenId?: string }) {
  const ended: SessionEnd[] = [];
  const session = registry.create(
    crypto.randomUUID(),
    s.workspaceId,
    s.targetId,
    s.userId,
    {
      log,
      resumeBufferBytes: 4096,
      graceMs: 60_000,
      idleTimeoutMs: 0,
      connect: () => new Promise(() => undefined),
      targetIsLive: async () => true,
      onEnded: (e) => ended.push(e),
    },
    s.tokenId ?? null,
  );
  return { session, ended };
}

describe.each(testDatabases())("sessions end on events, on $name", (tdb) => {
  let handle: Awaited<ReturnType<typeof tdb.open>>;
  let ws: string;
  let owner: string;
  const newUser = () => insertTestUser(handle.db);
  const newTarget = async () => (await registerTarget(handle.db, { workspaceId: ws, name: `t-${Math.random()}`, kind: "openssh", host: "127.0.0.2" })).target;

  beforeAll(async () => {
    handle = await tdb.open();
    owner = await newUser();
    ws = (await createWorkspace(handle.db, { name: "W", ownerId: owner })).id;
  });
  afterEach(async () => sessionRegistry().closeAll("test over"));
  afterAll(async () => handle?.dispose());

  it("in this process: each change ends exactly the sessions it concerns, before the call returns", async () => {
    const reg = sessionRegistry();
    const t1 = await newTarget();
    const t2 = await newTarget();
    const t3 = await newTarget();
    const mia = await newUser();
    await addMember(handle.db, ws, mia, "member");
    const [tok] = await handle.db
      .insert(apikey)
      .values({
        referenceId: mia,
        name: "ci",
        key: `k-${Math.random()}`,
        metadata: JSON.stringify({ workspaceId: ws }),
        createdAt: new Date(),
        updatedAt: new Date(),
      })
      .returning();

    const viaToken = openSession(reg, { workspaceId: ws, targetId: t1.id, userId: mia, tokenId: tok!.id });
    const viaBrowser = openSession(reg, { workspaceId: ws, targetId: t1.id, userId: mia });
    const ownerOnT1 = openSession(reg, { workspaceId: ws, targetId: t1.id, userId: owner });
    const onT2 = openSession(reg, { workspaceId: ws, targetId: t2.id, userId: owner });
    const onT3 = openSession(reg, { workspaceId: ws, targetId: t3.id, userId: owner });

    await revokeToken(handle.db, { userId: mia, workspaceId: ws, tokenId: tok!.id });
    expect(viaToken.ended).toMatchObject([{ state: "ended", reason: ENDED_TOKEN_REVOKED }]);
    expect(viaBrowser.ended).toEqual([]);

    await removeMember(handle.db, ws, mia, owner);
    expect(viaBrowser.ended).toMatchObject([{ state: "ended", reason: ENDED_MEMBER_REMOVED }]);
    expect(ownerOnT1.ended).toEqual([]);

    await markStopped(handle.db, t1, owner, "Compute stopped.");
    expect(ownerOnT1.ended).toMatchObject([{ state: "compute-stopped", reason: "Compute stopped." }]);
    expect(onT2.ended).toEqual([]);

    await rotateBridgeCredential(handle.db, t2, owner);
    expect(onT2.ended).toMatchObject([{ state: "ended", reason: ENDED_BRIDGE_ROTATED }]);

    await removeTarget(handle.db, t3, owner);
    expect(onT3.ended).toMatchObject([{ state: "compute-stopped", reason: ENDED_TARGET_REMOVED }]);
    expect(reg.countForUser(owner)).toBe(0);
  });

  it.runIf(tdb.name === "postgres")("across instances: a change published through B ends A's session within 1 s", async () => {
    const busA = new EventBus();
    const busB = new EventBus();
    const stopA = await busA.listen(handle.url!, log);
    const stopB = await busB.listen(handle.url!, log);
    const regA = new SessionRegistry(false);
    const regB = new SessionRegistry(false);
    const unA = regA.listenTo(busA);
    const unB = regB.listenTo(busB);
    try {
      expect(busA.heard && busB.heard).toBe(true);
      const t = await newTarget();
      const other = await newTarget();
      const mia = await newUser();
      const cases: { event: MeshiaEvent; open: Parameters<typeof openSession>[1]; state: string; reason: string }[] = [
        {
          event: { type: "member.removed", workspaceId: ws, userId: mia },
          open: { workspaceId: ws, targetId: t.id, userId: mia },
          state: "ended",
          reason: ENDED_MEMBER_REMOVED,
        },
        {
          event: { type: "token.revoked", workspaceId: ws, tokenIds: ["tok-9"] },
          open: { workspaceId: ws, targetId: t.id, userId: owner, tokenId: "tok-9" },
          state: "ended",
          reason: ENDED_TOKEN_REVOKED,
        },
        {
          event: { type: "target.stopped", workspaceId: ws, targetId: t.id, detail: "Compute stopped." },
          open: { workspaceId: ws, targetId: t.id, userId: owner },
          state: "compute-stopped",
          reason: "Compute stopped.",
        },
        {
          event: { type: "target.bridge-rotated", workspaceId: ws, targetId: t.id },
          open: { workspaceId: ws, targetId: t.id, userId: owner },
          state: "ended",
          reason: ENDED_BRIDGE_ROTATED,
        },
        {
          event: { type: "target.removed", workspaceId: ws, targetId: t.id },
          open: { workspaceId: ws, targetId: t.id, userId: owner },
          state: "compute-stopped",
          reason: ENDED_TARGET_REMOVED,
        },
      ];
      for (const c of cases) {
        const onA = openSession(regA, c.open);
        const bystander = openSession(regA, { workspaceId: ws, targetId: other.id, userId: owner });
        const started = Date.now();
        await busB.publish(handle.db, c.event);
        await expect.poll(() => onA.ended.length, { timeout: 1000, interval: 5 }).toBe(1);
        expect(Date.now() - started).toBeLessThan(1000);
        expect(onA.ended[0]).toMatchObject({ state: c.state, reason: c.reason });
        expect(bystander.ended).toEqual([]);
        bystander.session.close("next case");
      }
      // B's own registry heard its own events in-process (and held nothing).
      expect(regB.size).toBe(0);
    } finally {
      unA();
      unB();
      await regA.closeAll("test over");
      await stopA();
      await stopB();
    }
  });
});
