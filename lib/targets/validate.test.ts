import { describe, expect, it } from "vitest";
import { sshCommand } from "./ssh-command";
import { isValidHost, registerTargetBody } from "./validate";

describe("isValidHost", () => {
  it.each(["127.0.0.2", "::1", "2001:db8::1", "example.com", "a-b.example", "host1"])("accepts %s", (host) => {
    expect(isValidHost(host)).toBe(true);
    // Whatever validation accepts must make a command: listings build one for every target.
    expect(() => sshCommand(host, 22)).not.toThrow();
  });

  it.each(["-oProxyCommand=x", "a b", "fe80::1%eth0", "999.1.1.1", "host.", "a;b", "$(id)", "", "-h"])("refuses %j", (host) => {
    expect(isValidHost(host)).toBe(false);
  });
});

describe("registerTargetBody", () => {
  const fieldsOf = (body: unknown) => {
    const r = registerTargetBody.safeParse(body);
    return r.success ? [] : r.error.issues.map((i) => i.path.join("."));
  };

  it("names the field at fault", () => {
    expect(fieldsOf({ name: "a", host: "a b" })).toEqual(["host"]);
    expect(fieldsOf({ name: "a", host: "h", port: 0 })).toEqual(["port"]);
    expect(fieldsOf({ name: "a", host: "h", port: 70000 })).toEqual(["port"]);
    expect(fieldsOf({ name: "x".repeat(65), host: "h" })).toEqual(["name"]);
    expect(fieldsOf({ name: "ok", host: "h", port: 22 })).toEqual([]);
  });
});
