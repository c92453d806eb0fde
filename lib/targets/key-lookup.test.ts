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
import { answerAuthorizedKeys } from "./authorized-keys-http";
import { KeyLookup } from "./key-lookup";
import { findTarget, heartbeat, markStopped, recordBoot, registerTarget, rotateBridgeCredential } from "./registry";
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
    expect((await ask({ authorization: "Bearer mtt_wrong", clientIp: "10.0.0.8" })).status).toBe(401);
    keyLookupGlobal.resetForTests();
  });
});
