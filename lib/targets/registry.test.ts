import { describe, expect, it } from "vitest";
import type { ComputeTarget } from "@/db/schema";
import { effectiveStatus, targetView } from "./registry";

function target(over: Partial<ComputeTarget>): ComputeTarget {
  return {
    id: "00000000-0000-4000-8000-000000000001",
    workspaceId: "00000000-0000-4000-8000-000000000002",
    name: "t",
    kind: "openssh",
    host: "127.0.0.2",
    port: 22,
    bootId: "b1",
    bootedAt: new Date(0),
    hostKeys: null,
    hostKeyFingerprint: null,
    status: "live",
    lastSeenAt: new Date(0),
    tokenHash: null,
    unavailableReason: null,
    unavailableFix: null,
    bridgeGeneration: 1,
    createdAt: new Date(0),
    ...over,
  };
}

describe("effectiveStatus", () => {
  const window = 90_000;
  it("is live only while reports arrive within the live window", () => {
    const now = 1_000_000;
    expect(effectiveStatus(target({ lastSeenAt: new Date(now - 89_000) }), window, now)).toBe("live");
    expect(effectiveStatus(target({ lastSeenAt: new Date(now - 91_000) }), window, now)).toBe("stopped");
    expect(effectiveStatus(target({ lastSeenAt: null }), window, now)).toBe("stopped");
  });
  it("keeps pending and stopped as they are", () => {
    expect(effectiveStatus(target({ status: "pending" }), window, 0)).toBe("pending");
    expect(effectiveStatus(target({ status: "stopped", lastSeenAt: new Date(0) }), window, 0)).toBe("stopped");
  });
});

describe("targetView", () => {
  it("shows no command, rather than failing, for a host stored before validation refused it", () => {
    expect(targetView(target({ host: "fe80::1%eth0" }), 90_000).sshCommand).toBeNull();
    expect(targetView(target({}), 90_000).sshCommand).toBe("chmod 600 ~/Downloads/meshia_key.pem && ssh -i ~/Downloads/meshia_key.pem -p 22 mesh@127.0.0.2");
  });
});
