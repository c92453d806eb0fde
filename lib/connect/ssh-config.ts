// The ~/.ssh/config entry for one target, with the matching known_hosts lines and
// the editor links that use it. HostKeyAlias names the target, not host:port, so a
// new port after a reboot does not set off ssh's "host key changed" warning.
import { keyIdentity } from "@/lib/keys/fingerprint";
import { SSH_USER, isPasteSafeHost } from "@/lib/targets/ssh-command";
import { identityPath, type ClientOs } from "./commands";
import { KEY_FILE_NAME } from "./key-file";

/** Where VS Code and Cursor open when the target's home is not known otherwise: `mesh`'s home on an OpenSSH target. */
export const DEFAULT_REMOTE_HOME = `/home/${SSH_USER}`;

export interface SshConfigInput {
  workspaceName: string;
  targetId: string;
  targetName: string;
  host: string;
  port: number;
  /** Pinned host keys (OpenSSH public-key lines). */
  hostKeys: string[];
  os?: ClientOs;
  file?: string;
  /** The absolute directory the editors open (the shell's HOME on the target). */
  remoteHome?: string;
}

export interface SshConfig {
  alias: string;
  hostKeyAlias: string;
  config: string;
  knownHosts: string;
  vscodeUrl: string;
  cursorUrl: string;
}

/** Lower-case letters, digits and single dashes: safe as an ssh Host pattern and in a URL. */
export function slug(text: string, fallback: string): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 32)
    .replace(/-+$/, "");
  return s || fallback;
}

export function hostAlias(workspaceName: string, targetName: string): string {
  return `meshia-${slug(workspaceName, "workspace")}-${slug(targetName, "target")}`;
}

/** ssh_config takes a double-quoted argument for paths with spaces; `~` still expands there. */
function configPath(os: ClientOs, file: string): string {
  const p = identityPath(os, file);
  if (os === "powershell") return `"~/Downloads/${file}"`;
  const bare = p.replace(/'/g, "");
  return /\s/.test(bare) ? `"${bare}"` : bare;
}

export function sshConfig(input: SshConfigInput): SshConfig {
  if (!isPasteSafeHost(input.host)) throw new Error("unsafe host in ssh config");
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) throw new Error("invalid port in ssh config");
  const os = input.os ?? "unix";
  const file = input.file ?? KEY_FILE_NAME;
  const alias = hostAlias(input.workspaceName, input.targetName);
  const hostKeyAlias = `meshia-${input.targetId}`;
  const config = [
    `Host ${alias}`,
    `  HostName ${input.host}`,
    `  Port ${input.port}`,
    `  User ${SSH_USER}`,
    `  IdentityFile ${configPath(os, file)}`,
    `  IdentitiesOnly yes`,
    `  HostKeyAlias ${hostKeyAlias}`,
  ].join("\n");
  const knownHosts = input.hostKeys
    .map((line) => keyIdentity(line))
    .filter((id): id is string => id !== null)
    .map((id) => `${hostKeyAlias} ${id}`)
    .join("\n");
  const home = input.remoteHome && /^\/[A-Za-z0-9._/-]*$/.test(input.remoteHome) ? input.remoteHome : DEFAULT_REMOTE_HOME;
  const remote = `ssh-remote+${alias}${home.split("/").map(encodeURIComponent).join("/")}`;
  return {
    alias,
    hostKeyAlias,
    config: config + "\n",
    knownHosts: knownHosts ? knownHosts + "\n" : "",
    vscodeUrl: `vscode://vscode-remote/${remote}`,
    cursorUrl: `cursor://vscode-remote/${remote}`,
  };
}
