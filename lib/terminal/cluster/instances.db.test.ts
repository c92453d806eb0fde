import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlPlaneInstances, organization, terminalSessionOwners, terminalSessions } from "@/db/schema";
import { testDatabases } from "@/db/testing";
import { deriveInstanceUrl, findSessionOwner, reapDeadInstances } from "./instances";

describe("instance URL", () => {
  it("is MESHIA_INSTANCE_URL, else HOST:port, else this machine's first non-loopback IPv4", () => {
    expect(deriveInstanceUrl("http://10.1.2.3:3000", "0.0.0.0", 3000)).toBe("http://10.1.2.3:3000");
    expect(deriveInstanceUrl(undefined, "127.0.0.1", 3001)).toBe("http://127.0.0.1:3001");
    const nets = { lo: [{ family: "IPv4", internal: true, address: "127.0.0.1" }], eth0: [{ family: "IPv4", internal: false, address: "10.0.0.7" }] } as never;
    expect(deriveInstanceUrl(undefined, "0.0.0.0", 3000, nets)).toBe("http://10.0.0.7:3000");
    expect(deriveInstanceUrl(undefined, "::", 3000, {})).toBe("http://127.0.0.1:3000");
  });
});

describe.each(testDatabases())("session owners on $name", (tdb) => {
  let handle: Awaited<ReturnType<typeof tdb.open>>;
  const ws = randomUUID();
  beforeAll(async () => {
    handle = await tdb.open();
    await handle.db.insert(organization).values({ id: ws, name: "w", slug: `w-${ws}`, createdAt: new Date() });
  });
  afterAll(async () => handle?.dispose());

  it("a dead instance's rows go, and its sessions' audit records close; a live one's stay", async () => {
    const { db } = handle;
    const live = randomUUID();
    const dead = randomUUID();
    const now = new Date();
    await db.insert(controlPlaneInstances).values([
      { id: live, internalUrl: "http://127.0.0.1:1", heartbeatAt: now },
      { id: dead, internalUrl: "http://127.0.0.1:2", heartbeatAt: new Date(now.getTime() - 60_000) },
    ]);
    const [s1, s2] = [randomUUID(), randomUUID()];
    const target = randomUUID();
    await db.insert(terminalSessionOwners).values([
      { sessionId: s1, instanceId: live, instanceUrl: "http://127.0.0.1:1", userId: "u", workspaceId: ws, targetId: target },
      { sessionId: s2, instanceId: dead, instanceUrl: "http://127.0.0.1:2", userId: "u", workspaceId: ws, targetId: target },
    ]);
    await db.insert(terminalSessions).values([
      { id: s1, workspaceId: ws, targetId: target, openedBy: "u" },
      { id: s2, workspaceId: ws, targetId: target, openedBy: "u" },
    ]);
    const before = await findSessionOwner(db, s2);
    expect(before).toMatchObject({ instanceId: dead, alive: false, self: false });
    expect(await findSessionOwner(db, s1)).toMatchObject({ instanceId: live, alive: true });

    expect(await reapDeadInstances(db, 15_000, now)).toBe(1);
    expect(await findSessionOwner(db, s2)).toBeNull();
    expect(await findSessionOwner(db, s1)).not.toBeNull();
    const [audit2] = await db.select().from(terminalSessions).where(eq(terminalSessions.id, s2));
    expect(audit2!.closedAt).not.toBeNull();
    expect(audit2!.closeReason).toMatch(/went away/);
    const [audit1] = await db.select().from(terminalSessions).where(eq(terminalSessions.id, s1));
    expect(audit1!.closedAt).toBeNull();
  });
});
