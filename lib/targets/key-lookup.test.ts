// The cached key lookup every sshd asks at every login, on real databases: it answers
// from memory, yet a regenerated or revoked key, a stopped target or a rotated bridge
// credential changes the very next answer. And the lean HTTP path's contract.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { testDatabases } from "@/db/testing";
import { revokeKey, saveKey } from "@/lib/keys/store";
import { generateWorkspaceKey } from "@/lib/keys/workspace-key";
import { bridgePublicKey } from "@/lib/ssh/bridge-credential";
import { createWorkspace } from "@/lib/workspaces/workspaces";
import { eq } from "drizzle-orm";
import { computeTargets } from "@/db/schema";
import { publish } from "@/lib/events";
import { answerAuthorizedKeys, plainQuery } from "./authorized-keys-http";
import { KeyLookup } from "./key-lookup";
import { hashToken } from "./target-token";
import { findTarget, heartbeat, markStopped, recordBoot, registerTarget, removeTarget, rotateBridgeCredential } from "./registry";
import { keyLookupGlobal } from "@/lib/targets/key-lookup";
import { rateLimiters } from "@/lib/http/rate-limit";

const HOST = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBnJ9R0Xg7N2z2r9w9A0Qe3v4yP5mX8fJk1L2qS3t4uV host";
const WINDOW = 60_000;
const log = pino({ level: "silent" });

describe.each(testDatabases())("cached key lookup on $name", (tdb) => {
  let handle: Awaited<ReturnType<typeof tdb.open>>;
  let ws: string;
  let lookup: KeyLookup;
  beforeAll(async () => {
    handle = await tdb.open();
    ws = (await createWorkspace(handle.db, { name: "W" })).id;
    lookup = new KeyLookup(handle.db, WINDOW);
  });
  afterAll(async () => {
    lookup?.dispose();
    await handle?.dispose();
  });

  async function liveTarget() {
    const { target, token } = await registerTarget(handle.db, { workspaceId: ws, name: "t", kind: "openssh", host: "127.0.0.2" });
    const row = await recordBoot(handle.db, target, { bootId: crypto.randomUUID(), port: 22, hostKeys: [HOST] });
    return { row, token: token! };
  }
  const newKey = async () => {
    const { pem: _p, ...k } = await generateWorkspaceKey("c");
    await saveKey(handle.db, ws, k, null);
    return k.publicKey;
  };
  const text = async (id: string, token: string) => {
    const r = await lookup.lookup(id, token, "mesh");
    return r.ok ? r.text : null;
  };

  it("serves the key, and a regenerated key replaces it at the very next lookup", async () => {
    const { row, token } = await liveTarget();
    const k1 = await newKey();
    expect(await text(row.id, token)).toContain(k1);
    expect(lookup.isCached(row.id)).toBe(true);
    const k2 = await newKey();
    const after = await text(row.id, token);
    expect(after).toContain(k2);
    expect(after).not.toContain(k1);
    await revokeKey(handle.db, ws, null);
    const revoked = await text(row.id, token);
    expect(revoked).not.toContain(k2);
    expect(revoked).toContain(bridgePublicKey(row).publicKey);
  });

  it("refuses a wrong token and an unknown target alike, and answers nothing for other users", async () => {
    const { row, token } = await liveTarget();
    expect(await lookup.lookup(row.id, "mtt_wrong", "mesh")).toEqual({ ok: false });
    expect(await lookup.lookup(crypto.randomUUID(), token, "mesh")).toEqual({ ok: false });
    expect(await lookup.lookup("not-a-uuid", token, "mesh")).toEqual({ ok: false });
    expect(await text(row.id, token)).not.toBe("");
    expect(((await lookup.lookup(row.id, token, "root")) as { text: string }).text).toBe("");
  });

  it("answers a token it has checked from memory at once; a wrong token, a changed token and a removed target never are", async () => {
    const { row, token } = await liveTarget();
    const k = await newKey();
    expect(lookup.fromMemory(row.id, token, "mesh")).toBeNull(); // never checked yet
    expect(await text(row.id, token)).toContain(k);
    const known = lookup.fromMemory(row.id, token, "mesh");
    expect(known).toMatchObject({ ok: true });
    expect((known as { text: string }).text).toContain(k);
    // Not a promise: the hot path answers synchronously.
    expect(known).not.toBeInstanceOf(Promise);
    expect(lookup.fromMemory(row.id, token.slice(0, -1) + (token.endsWith("A") ? "B" : "A"), "mesh")).toBeNull();
    expect(lookup.fromMemory(row.id, token + "x", "mesh")).toBeNull();
    expect(lookup.fromMemory(row.id, null, "mesh")).toBeNull();
    expect((lookup.fromMemory(row.id, token, "root") as { text: string }).text).toBe("");
    // What a blocked address is refused from memory for: a wrong or missing token, an uncached target; never the right token.
    expect(lookup.refusesFromMemory(row.id, token)).toBe(false);
    expect(lookup.refusesFromMemory(row.id, token + "x")).toBe(true);
    expect(lookup.refusesFromMemory(row.id, null)).toBe(true);
    expect(lookup.refusesFromMemory(crypto.randomUUID(), token)).toBe(true);
    // Another instance gave the target a new token: the old one is refused at the next lookup.
    await handle.db
      .update(computeTargets)
      .set({ tokenHash: hashToken("mtt_other") })
      .where(eq(computeTargets.id, row.id));
    await publish(handle.db, { type: "target.changed", targetId: row.id, workspaceId: ws });
    expect(lookup.fromMemory(row.id, token, "mesh")).toBeNull();
    expect(await lookup.lookup(row.id, token, "mesh")).toEqual({ ok: false });
    expect(await lookup.lookup(row.id, "mtt_other", "mesh")).toMatchObject({ ok: true });
    await removeTarget(handle.db, (await findTarget(handle.db, row.id))!, null);
    expect(lookup.fromMemory(row.id, "mtt_other", "mesh")).toBeNull();
    expect(await lookup.lookup(row.id, "mtt_other", "mesh")).toEqual({ ok: false });
  });

  it("a stopped target and a rotated bridge credential change the next answer", async () => {
    const { row, token } = await liveTarget();
    await newKey();
    const before = await text(row.id, token);
    expect(before).toContain(bridgePublicKey(row).publicKey);
    const rotated = await rotateBridgeCredential(handle.db, row, null);
    const after = await text(row.id, token);
    expect(after).not.toContain(bridgePublicKey(row).publicKey);
    expect(after).toContain(bridgePublicKey(rotated).publicKey);
    await markStopped(handle.db, (await findTarget(handle.db, row.id))!);
    expect(await text(row.id, token)).toBe("");
  });

  it("a target that went quiet stops being served, and its heartbeat (on any instance) brings it back", async () => {
    const { row, token } = await liveTarget();
    await newKey();
    const now = Date.now();
    expect(await lookup.lookup(row.id, token, "mesh", now)).toMatchObject({ ok: true });
    // Past the live window without a report: nothing.
    const later = now + WINDOW + 5_000;
    expect(((await lookup.lookup(row.id, token, "mesh", later)) as { text: string }).text).toBe("");
    // A heartbeat is not an event: the row is read again (at most once a second).
    await heartbeat(handle.db, row.id);
    const back = await lookup.lookup(row.id, token, "mesh", Date.now() + 2_000);
    expect((back as { text: string }).text).toContain("ssh-");
  });

  it("the HTTP answer: 422 without user, 413 over 1 MiB, 401 for a wrong token, 429 once an address keeps trying — never for a right token", async () => {
    keyLookupGlobal.resetForTests();
    rateLimiters.resetForTests();
    const { row, token } = await liveTarget();
    const deps = { db: handle.db, liveWindowMs: WINDOW, failureRate: { max: 3, windowSeconds: 60 }, log };
    const ask = (over: Partial<Parameters<typeof answerAuthorizedKeys>[0]> = {}) =>
      answerAuthorizedKeys(
        {
          targetId: row.id,
          url: `/api/targets/${row.id}/authorized-keys?user=mesh`,
          authorization: `Bearer ${token}`,
          contentLength: null,
          clientIp: "10.0.0.7",
          ...over,
        },
        deps,
      );
    expect((await ask()).status).toBe(200);
    const noUser = await ask({ url: `/api/targets/${row.id}/authorized-keys` });
    expect(noUser.status).toBe(422);
    expect(noUser.body).toContain('"field":"user"');
    expect((await ask({ contentLength: String(1024 * 1024 + 1) })).status).toBe(413);
    const wrong = await ask({ authorization: "Bearer mtt_wrong" });
    expect(wrong.status).toBe(401);
    expect(wrong.headers["WWW-Authenticate"]).toMatch(/Bearer/);
    expect(JSON.parse(wrong.body).error.code).toBe("unauthorized");
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await ask({ authorization: "Bearer mtt_wrong", targetId: crypto.randomUUID() })).status);
    expect(statuses).toEqual([401, 401, 429, 429]);
    const limited = await ask({ authorization: "Bearer mtt_wrong" });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers["Retry-After"])).toBeGreaterThan(0);
    // The right token from the same address still works; another address is not limited.
    expect((await ask()).status).toBe(200);
    // Wrong tokens for the target whose right token is answered from memory are limited too.
    expect((await ask({ authorization: `Bearer ${token}x` })).status).toBe(429);
    // The query read by hand on the hot path is validated like any other.
    expect((await ask({ url: `/api/targets/${row.id}/authorized-keys?user=${"m".repeat(65)}` })).status).toBe(400);
    expect((await ask({ url: `/api/targets/${row.id}/authorized-keys?client=x` })).status).toBe(422);
    expect((await ask({ authorization: "Bearer mtt_wrong", clientIp: "10.0.0.8" })).status).toBe(401);
    keyLookupGlobal.resetForTests();
  });
});

describe("the hot path's query reader", () => {
  const zodLike = (q: string) => {
    const p = Object.fromEntries(new URLSearchParams(q));
    return typeof p.user === "string" && p.user.length <= 64 && (p.client ?? "").length <= 200 && (p.fingerprint ?? "").length <= 100
      ? { user: p.user, ...(p.client !== undefined ? { client: p.client } : {}), ...(p.fingerprint !== undefined ? { fingerprint: p.fingerprint } : {}) }
      : null;
  };
  it.each([
    "user=mesh",
    "user=mesh&client=10.0.0.1%2055000%2010.0.0.2%2022&fingerprint=SHA256%3Aabc",
    "user=mesh&client=10.0.0.1+55000+10.0.0.2+22",
    "user=a&user=mesh",
    "user=",
    "user",
    "x=1&user=mesh&y",
    `user=${"m".repeat(64)}`,
    `user=${"m".repeat(65)}`,
    "client=x",
    "user=%E2%82%AC",
    "user=%zz",
    "us%65r=mesh",
    "user=mesh&fingerprint=" + "f".repeat(101),
  ])("reads %s as URLSearchParams and the schema do, or leaves it to them", (q) => {
    const hand = plainQuery(`/api/targets/x/authorized-keys?${q}`);
    if (hand !== null) expect(hand).toEqual(zodLike(q));
    else expect(["user=%zz", "us%65r=mesh"].includes(q) || zodLike(q) === null).toBe(true);
  });
});
