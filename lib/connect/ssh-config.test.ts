import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { hostAlias, slug, sshConfig } from "./ssh-config";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl host@example";
const input = {
  workspaceName: "Default workspace",
  targetId: "6d1f4a0e-3b1c-4b8e-9f0a-0c2d3e4f5a6b",
  targetName: "local",
  host: "203.0.113.10",
  port: 23456,
  hostKeys: [HOST_KEY],
};

describe("sshConfig", () => {
  it("Host meshia-<workspace>-<target> with HostName, Port, User, IdentityFile, IdentitiesOnly and HostKeyAlias", () => {
    const c = sshConfig(input);
    expect(c.alias).toBe("meshia-default-workspace-local");
    expect(c.config).toBe(
      [
        "Host meshia-default-workspace-local",
        "  HostName 203.0.113.10",
        "  Port 23456",
        "  User mesh",
        "  IdentityFile ~/Downloads/meshia_key.pem",
        "  IdentitiesOnly yes",
        `  HostKeyAlias meshia-${input.targetId}`,
        "",
      ].join("\n"),
    );
    // The known_hosts line names the alias, so it holds whatever the port of the next boot.
    expect(c.knownHosts).toBe(`meshia-${input.targetId} ${HOST_KEY.split(" ").slice(0, 2).join(" ")}\n`);
    expect(c.vscodeUrl).toBe("vscode://vscode-remote/ssh-remote+meshia-default-workspace-local/home/mesh");
    expect(c.cursorUrl).toBe("cursor://vscode-remote/ssh-remote+meshia-default-workspace-local/home/mesh");
  });

  it("per-OS IdentityFile, quoted when the name has spaces", () => {
    expect(sshConfig({ ...input, os: "wsl" }).config).toContain("  IdentityFile ~/.ssh/meshia_key.pem\n");
    expect(sshConfig({ ...input, os: "powershell", file: "meshia_key (1).pem" }).config).toContain('  IdentityFile "~/Downloads/meshia_key (1).pem"\n');
    expect(sshConfig({ ...input, file: "meshia_key (1).pem" }).config).toContain('  IdentityFile "~/Downloads/meshia_key (1).pem"\n');
  });

  it("editor links open the target's home", () => {
    expect(sshConfig({ ...input, remoteHome: "/var/lib/meshia-volumes/abc" }).vscodeUrl).toBe(
      "vscode://vscode-remote/ssh-remote+meshia-default-workspace-local/var/lib/meshia-volumes/abc",
    );
    expect(sshConfig({ ...input, remoteHome: "relative/../x y" }).vscodeUrl).toMatch(/\/home\/mesh$/);
  });

  it("slugs keep only what ssh_config and URLs take", () => {
    expect(slug("  Ünïcode  GPU box #2 ", "x")).toBe("n-code-gpu-box-2");
    expect(slug("!!!", "target")).toBe("target");
    expect(hostAlias("a".repeat(80), "b")).toBe(`meshia-${"a".repeat(32)}-b`);
    expect(() => sshConfig({ ...input, host: "evil host" })).toThrow();
    expect(() => sshConfig({ ...input, port: 0 })).toThrow();
  });

  it("ssh -G reads the snippet as the OpenSSH client would", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "meshia-sshcfg-"));
    try {
      const file = path.join(dir, "config");
      writeFileSync(file, sshConfig({ ...input, file: "meshia_key (1).pem" }).config);
      const out = execFileSync("ssh", ["-G", "-F", file, "meshia-default-workspace-local"], { encoding: "utf8" });
      expect(out).toMatch(/^hostname 203\.0\.113\.10$/m);
      expect(out).toMatch(/^port 23456$/m);
      expect(out).toMatch(/^user mesh$/m);
      expect(out).toMatch(/^identitiesonly yes$/m);
      expect(out).toMatch(new RegExp(`^hostkeyalias meshia-${input.targetId}$`, "m"));
      expect(out).toMatch(/^identityfile ~\/Downloads\/meshia_key \(1\)\.pem$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
