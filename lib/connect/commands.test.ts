import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { sshCommand } from "@/lib/targets/ssh-command";
import { connectCommand, detectClientOs, identityPath } from "./commands";
import { isSafeKeyFileName, posixName } from "./key-file";
import { forwardCommand } from "./port-forward";

const at = { host: "203.0.113.10", port: 23456 };

/** bash -n: the command parses as shell (it is not run). */
function parsesInBash(cmd: string): void {
  execFileSync("bash", ["-n", "-c", cmd]);
}

describe("connectCommand", () => {
  it("macOS/Linux: the seed's exact command", () => {
    expect(connectCommand("unix", at)).toBe("chmod 600 ~/Downloads/meshia_key.pem && ssh -i ~/Downloads/meshia_key.pem -p 23456 mesh@203.0.113.10");
    expect(connectCommand("unix", at)).toBe(sshCommand(at.host, at.port));
  });

  it("macOS/Linux: a renamed download is quoted, ~ still expands", () => {
    const cmd = connectCommand("unix", at, "meshia_key (1).pem");
    expect(cmd).toBe("chmod 600 ~/Downloads/'meshia_key (1).pem' && ssh -i ~/Downloads/'meshia_key (1).pem' -p 23456 mesh@203.0.113.10");
    parsesInBash(cmd);
  });

  it("PowerShell: icacls and $env:USERPROFILE, no chmod and no &&", () => {
    const cmd = connectCommand("powershell", at);
    expect(cmd).toBe(
      'icacls "$env:USERPROFILE\\Downloads\\meshia_key.pem" /inheritance:r /grant:r "${env:USERNAME}:(R)"\n' +
        'ssh -i "$env:USERPROFILE\\Downloads\\meshia_key.pem" -p 23456 mesh@203.0.113.10',
    );
    expect(cmd).not.toMatch(/chmod|&&|~\//);
  });

  it("WSL: copies the key into ~/.ssh before chmod (chmod does not stick on /mnt/c)", () => {
    const cmd = connectCommand("wsl", at);
    const cp = cmd.indexOf(" cp ");
    expect(cp).toBeGreaterThan(0);
    expect(cmd.indexOf("chmod 600 ~/.ssh/meshia_key.pem")).toBeGreaterThan(cp);
    expect(cmd).toContain("wslpath");
    expect(cmd).toMatch(/\/Downloads"\/meshia_key\.pem ~\/\.ssh\/meshia_key\.pem/);
    expect(cmd.endsWith("ssh -i ~/.ssh/meshia_key.pem -p 23456 mesh@203.0.113.10")).toBe(true);
    parsesInBash(cmd);
    parsesInBash(connectCommand("wsl", at, "meshia_key (2).pem"));
  });

  it("refuses unsafe hosts, ports and file names", () => {
    expect(() => connectCommand("unix", { host: "a;rm -rf /", port: 22 })).toThrow();
    expect(() => connectCommand("unix", { host: "-oProxyCommand=x", port: 22 })).toThrow();
    expect(() => connectCommand("unix", { host: "h", port: 0 })).toThrow();
    for (const bad of ["a'b.pem", "../x.pem", "a/b", "$(x).pem", "-x.pem", ".hidden", "x`y`", 'a"b', "a\nb", ""]) {
      expect(isSafeKeyFileName(bad), bad).toBe(false);
      expect(() => connectCommand("powershell", at, bad)).toThrow();
    }
    expect(() => posixName("a'b")).toThrow();
    expect(() => identityPath("unix", "a$b")).toThrow();
  });
});

describe("detectClientOs", () => {
  it("Windows platforms get PowerShell, everything else macOS/Linux", () => {
    expect(detectClientOs("Win32")).toBe("powershell");
    expect(detectClientOs("Windows")).toBe("powershell");
    expect(detectClientOs("MacIntel")).toBe("unix");
    expect(detectClientOs("Linux x86_64")).toBe("unix");
    expect(detectClientOs("", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)")).toBe("powershell");
    expect(detectClientOs("iPhone")).toBe("unix");
  });
});

describe("forwardCommand", () => {
  it("adds -N -L local:localhost:remote to the ssh call of each OS", () => {
    expect(forwardCommand("unix", at, { remote: 8888, local: 18888 })).toBe(
      "chmod 600 ~/Downloads/meshia_key.pem && ssh -N -L 18888:localhost:8888 -i ~/Downloads/meshia_key.pem -p 23456 mesh@203.0.113.10",
    );
    expect(forwardCommand("powershell", at, { remote: 6006, local: 6006 }).split("\n")[1]).toBe(
      'ssh -N -L 6006:localhost:6006 -i "$env:USERPROFILE\\Downloads\\meshia_key.pem" -p 23456 mesh@203.0.113.10',
    );
    parsesInBash(forwardCommand("wsl", at, { remote: 8080, local: 8080 }));
    expect(() => forwardCommand("unix", at, { remote: 0, local: 1 })).toThrow();
    expect(() => forwardCommand("unix", at, { remote: 1, local: 70000 })).toThrow();
  });
});

describe("isLoopbackHost", () => {
  it("names only this machine's addresses", async () => {
    const { isLoopbackHost } = await import("./commands");
    for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "box.localhost"]) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ["203.0.113.10", "10.0.0.1", "example.com", "::2", "1127.0.0.1"]) expect(isLoopbackHost(h), h).toBe(false);
  });
});
