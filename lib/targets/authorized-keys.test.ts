import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "@/db/testing";
import { revokeKey, saveKey } from "@/lib/keys/store";
import { bridgePublicKey } from "@/lib/ssh/bridge-credential";
import { generateWorkspaceKey } from "@/lib/keys/workspace-key";
import { createWorkspace, ensureDefaultWorkspace } from "@/lib/workspaces/workspaces";
import { authorizedKeys, formatAuthorizedKeys } from "./authorized-keys";
import { findTarget, markStopped, recordBoot, registerTarget } from "./registry";

const HOST = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBnJ9R0Xg7N2z2r9w9A0Qe3v4yP5mX8fJk1L2qS3t4uV host";
const WINDOW = 60_000;

describe.each(testDatabases())("authorized-keys lookup on $name", (tdb) => {
  let handle: Awaited<ReturnType<typeof tdb.open>>;
  let wsA: string;
  let wsB: string;
  beforeAll(async () => {
    handle = await tdb.open();
    wsA = (await ensureDefaultWorkspace(handle.db)).id;
    wsB = (await createWorkspace(handle.db, { name: "B" })).id;
  });
  afterAll(async () => handle?.dispose());

  async function liveTarget(workspaceId: string) {
    const { target } = await registerTarget(handle.db, { workspaceId, name: "t", kind: "openssh", host: "127.0.0.2" });
    return recordBoot(handle.db, target, { bootId: crypto.randomUUID(), port: 22, hostKeys: [HOST] });
  }
  const lookup = (t: Parameters<typeof authorizedKeys>[1], user = "mesh") => authorizedKeys(handle.db, t, user, { liveWindowMs: WINDOW });

  it("serves the current workspace key and the restricted bridge key to user mesh on a live target", async () => {
    const t = await liveTarget(wsA);
    const { pem: _p, ...k } = await generateWorkspaceKey("a");
    await saveKey(handle.db, wsA, k, null);
    const keys = await lookup(t);
    expect(keys.map((x) => x.purpose)).toEqual(["workspace", "bridge"]);
    const text = formatAuthorizedKeys(keys);
    expect(text).toContain(k.publicKey + "\n");
    expect(text).toContain("no-port-forwarding,no-agent-forwarding,no-X11-forwarding " + bridgePublicKey(t).publicKey + "\n");
  });

  it("carries this target's bridge credential and no other: a second target at the same address gets a different one", async () => {
    const victim = await liveTarget(wsA);
    const attacker = await liveTarget(wsB); // same host and port, another workspace
    const victimKeys = (await lookup(victim)).filter((k) => k.purpose === "bridge");
    const attackerKeys = (await lookup(attacker)).filter((k) => k.purpose === "bridge");
    expect(victimKeys).toHaveLength(1);
    expect(attackerKeys).toHaveLength(1);
    expect(victimKeys[0]!.blob.equals(bridgePublicKey(victim).blob)).toBe(true);
    expect(victimKeys[0]!.blob.equals(attackerKeys[0]!.blob)).toBe(false);
    // A new generation is a new credential: the old one is no longer served.
    const rotated = { ...victim, bridgeGeneration: victim.bridgeGeneration + 1 };
    const after = (await lookup(rotated)).filter((k) => k.purpose === "bridge");
    expect(after[0]!.blob.equals(victimKeys[0]!.blob)).toBe(false);
  });

  it("serves nothing to other users", async () => {
    const t = await liveTarget(wsA);
    expect(await lookup(t, "root")).toEqual([]);
    expect(await lookup(t, "mesh2")).toEqual([]);
  });

  it("never serves another workspace's key", async () => {
    const { pem: _p, ...kb } = await generateWorkspaceKey("b");
    await saveKey(handle.db, wsB, kb, null);
    const tA = await liveTarget(wsA);
    const keys = await lookup(tA);
    expect(keys.some((k) => k.key === kb.publicKey)).toBe(false);
    const tB = await liveTarget(wsB);
    expect((await lookup(tB)).some((k) => k.key === kb.publicKey)).toBe(true);
  });

  it("drops a revoked key at once", async () => {
    const t = await liveTarget(wsA);
    await revokeKey(handle.db, wsA, null);
    expect((await lookup(t)).map((x) => x.purpose)).toEqual(["bridge"]);
  });

  it("serves nothing for a target that stopped, never booted or went silent", async () => {
    const t = await liveTarget(wsA);
    await markStopped(handle.db, t);
    expect(await lookup((await findTarget(handle.db, t.id))!)).toEqual([]);
    const { target: pending } = await registerTarget(handle.db, { workspaceId: wsA, name: "p", kind: "openssh", host: "h" });
    expect(await lookup(pending)).toEqual([]);
    const silent = await liveTarget(wsA);
    expect(await authorizedKeys(handle.db, silent, "mesh", { liveWindowMs: WINDOW, now: Date.now() + WINDOW + 1000 })).toEqual([]);
  });
});
