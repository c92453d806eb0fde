import { describe, expect, it } from "vitest";
import { sshCommand } from "./ssh-command";
import { isValidHost, registerTargetBody } from "./validate";

describe("target validation", () => {
  it.each(["203.0.113.10", "::1", "2001:db8::1", "pod-1.example.com", "localhost", "a", "host1"])("accepts host %s", (h) => {
    expect(isValidHost(h)).toBe(true);
    // Whatever validation accepts must make a command: listings build one for every target.
    expect(() => sshCommand(h, 22)).not.toThrow();
  });
  it.each([
    "-oProxyCommand=x",
    "a b",
    "host;rm -rf",
    "$(id)",
    "ex_ample.com",
    "-x.com",
    "x-.com",
    "999.1.1.1",
    "a..b",
    "",
    "é.com",
    "fe80::1%eth0",
    "host.",
    "-h",
    "a".repeat(64) + ".com",
  ])("refuses host %j", (h) => {
    expect(isValidHost(h)).toBe(false);
  });

  it("names the field at fault", () => {
    const r = registerTargetBody.safeParse({ name: "x".repeat(65), host: "h", port: 22 });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(["name"]);
    expect(registerTargetBody.safeParse({ name: "x", host: "h", port: 0 }).error!.issues[0]!.path).toEqual(["port"]);
    expect(registerTargetBody.safeParse({ name: "x", host: "h", port: 70000 }).error!.issues[0]!.path).toEqual(["port"]);
    expect(registerTargetBody.safeParse({ name: "x\u0007", host: "h" }).error!.issues[0]!.path).toEqual(["name"]);
    expect(registerTargetBody.safeParse({ name: "x", host: "h", extra: 1 }).error!.issues[0]!.code).toBe("unrecognized_keys");
  });

  it("builds a command that is safe to paste", () => {
    expect(sshCommand("203.0.113.10", 23456)).toBe("chmod 600 ~/Downloads/meshia_key.pem && ssh -i ~/Downloads/meshia_key.pem -p 23456 mesh@203.0.113.10");
    expect(() => sshCommand("-oProxyCommand=x", 22)).toThrow();
    expect(() => sshCommand("a;b", 22)).toThrow();
    expect(() => sshCommand("h", 0)).toThrow();
  });
});
