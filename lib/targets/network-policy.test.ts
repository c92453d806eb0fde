// The target network policy: which addresses a target may be at, at registration
// and at connect time (vitest's configuration allows 127.0.0.2 and 127.0.0.3).
import os from "node:os";
import { describe, expect, it } from "vitest";
import { addressRefusal, checkTargetHost, resolveTargetAddress, TargetAddressRefused } from "./network-policy";

describe("target network policy", () => {
  it("refuses loopback, link-local (the metadata address too), unspecified, multicast and broadcast", () => {
    for (const ip of [
      "127.0.0.1",
      "127.255.0.1",
      "::1",
      "169.254.169.254",
      "169.254.0.1",
      "fe80::1",
      "0.0.0.0",
      "0.1.2.3",
      "::",
      "224.0.0.1",
      "ff02::1",
      "255.255.255.255",
    ]) {
      expect(addressRefusal(ip), ip).not.toBeNull();
    }
  });

  it("sees through IPv4-mapped IPv6", () => {
    expect(addressRefusal("::ffff:127.0.0.1")).toMatch(/loopback/);
    expect(addressRefusal("::ffff:169.254.169.254")).toMatch(/link-local/);
    expect(addressRefusal("::ffff:127.0.0.2")).toBeNull(); // allowed network, either spelling
  });

  it("refuses every address of this machine", () => {
    const own = Object.values(os.networkInterfaces())
      .flat()
      .filter((a): a is os.NetworkInterfaceInfo => !!a && !a.internal)
      .map((a) => a.address.split("%")[0]!);
    for (const ip of own) expect(addressRefusal(ip), ip).not.toBeNull();
  });

  it("lets MESHIA_TARGET_ALLOWED_NETWORKS open exactly the networks it names", () => {
    expect(addressRefusal("127.0.0.2")).toBeNull();
    expect(addressRefusal("127.0.0.3")).toBeNull();
    expect(addressRefusal("127.0.0.4")).toMatch(/loopback/);
  });

  it("allows ordinary addresses (public, private, documentation ranges)", () => {
    for (const ip of ["203.0.113.10", "192.0.2.1", "10.1.2.3", "172.16.0.5", "192.168.1.20", "2001:db8::1", "fd00::5", "8.8.8.8"]) {
      expect(addressRefusal(ip), ip).toBeNull();
    }
  });

  it("at registration refuses names for this machine and names that resolve to refused addresses; accepts names that do not resolve yet", async () => {
    for (const host of ["localhost", "LOCALHOST", "db.localhost", "127.0.0.1", "::1"]) {
      await expect(checkTargetHost(host), host).rejects.toBeInstanceOf(TargetAddressRefused);
    }
    await expect(checkTargetHost("not-yet-in-dns.invalid")).resolves.toBeUndefined();
    await expect(checkTargetHost("127.0.0.2")).resolves.toBeUndefined();
  });

  it("at connect returns the address to connect to, and refuses what resolves to a refused address", async () => {
    expect(await resolveTargetAddress("127.0.0.2")).toBe("127.0.0.2");
    expect(await resolveTargetAddress("::ffff:127.0.0.3")).toBe("127.0.0.3");
    await expect(resolveTargetAddress("127.0.0.1")).rejects.toBeInstanceOf(TargetAddressRefused);
    await expect(resolveTargetAddress("localhost")).rejects.toBeInstanceOf(TargetAddressRefused);
    await expect(resolveTargetAddress("does-not-resolve.invalid")).rejects.toThrow();
  });

  it("DNS rebinding: a name that resolved to a fine address at registration and to loopback at connect is refused at connect", async () => {
    let answer = ["203.0.113.7"];
    const lookup = async () => answer;
    await expect(checkTargetHost("rebind.example", { lookup })).resolves.toBeUndefined();
    expect(await resolveTargetAddress("rebind.example", { lookup })).toBe("203.0.113.7");
    answer = ["127.0.0.1"];
    await expect(resolveTargetAddress("rebind.example", { lookup })).rejects.toThrow(/resolves to 127\.0\.0\.1: 127\.0\.0\.1 is a loopback/);
    // One refused address among several is enough to refuse: the kernel might pick it.
    answer = ["203.0.113.7", "169.254.169.254"];
    await expect(resolveTargetAddress("rebind.example", { lookup })).rejects.toBeInstanceOf(TargetAddressRefused);
    await expect(checkTargetHost("rebind.example", { lookup })).rejects.toBeInstanceOf(TargetAddressRefused);
  });
});
