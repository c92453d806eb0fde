import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deriveInternalKey, GRANT_TTL_MS, NonceCache, signGrant, verifyGrant, type GrantRequest } from "./internal-auth";

const key = deriveInternalKey("a-shared-secret-of-at-least-32-characters!!");
const owner = randomUUID();
const req = (): GrantRequest => ({ to: owner, sessionId: randomUUID(), workspaceId: randomUUID(), targetId: randomUUID(), userId: "user-1", resume: 1234 });

describe("internal grants", () => {
  it("a grant signed with the shared key is accepted once, by the instance it is for", () => {
    const nonces = new NonceCache();
    const r = req();
    const header = signGrant(key, r);
    const v = verifyGrant(key, header, owner, nonces);
    expect(v.ok && v.grant).toMatchObject(r);
    expect(verifyGrant(key, header, owner, nonces)).toEqual({ ok: false, reason: "replayed" });
  });

  it("refuses what a browser could make: nothing, junk, another key, an edited payload", () => {
    const nonces = new NonceCache();
    expect(verifyGrant(key, undefined, owner, nonces)).toEqual({ ok: false, reason: "missing" });
    expect(verifyGrant(key, ["a", "b"], owner, nonces)).toEqual({ ok: false, reason: "missing" });
    expect(verifyGrant(key, "no-dot", owner, nonces)).toEqual({ ok: false, reason: "malformed" });
    const other = deriveInternalKey("some-other-secret-of-at-least-32-characters");
    expect(verifyGrant(key, signGrant(other, req()), owner, nonces)).toEqual({ ok: false, reason: "bad-signature" });
    // Same signature, a payload naming someone else's session.
    const [payload, sig] = signGrant(key, req()).split(".") as [string, string];
    const edited = JSON.parse(Buffer.from(payload, "base64url").toString());
    edited.sessionId = randomUUID();
    expect(verifyGrant(key, `${Buffer.from(JSON.stringify(edited)).toString("base64url")}.${sig}`, owner, nonces)).toEqual({
      ok: false,
      reason: "bad-signature",
    });
    // The derivation binds the key to its purpose: the raw secret itself does not sign grants.
    expect(verifyGrant(key, signGrant(Buffer.from("a-shared-secret-of-at-least-32-characters!!"), req()), owner, nonces).ok).toBe(false);
  });

  it("expires, and is for one instance only", () => {
    const nonces = new NonceCache();
    const t0 = 1_000_000;
    expect(verifyGrant(key, signGrant(key, req(), t0), owner, nonces, t0 + GRANT_TTL_MS + 1)).toEqual({ ok: false, reason: "expired" });
    expect(verifyGrant(key, signGrant(key, req(), t0), randomUUID(), nonces, t0)).toEqual({ ok: false, reason: "wrong-instance" });
  });
});
