// The command that connects from someone's own terminal, for each kind of shell
// they may have: macOS/Linux (the seed's command, unchanged), Windows PowerShell
// (no chmod, no &&: icacls restricts the file to the user) and WSL (chmod does not
// stick on /mnt/c, so the key is copied into ~/.ssh first).
import { SSH_USER, sshCommand } from "@/lib/targets/ssh-command";
import { isPasteSafeHost } from "@/lib/targets/ssh-command";
import { KEY_FILE_NAME, isSafeKeyFileName, posixName } from "./key-file";

export type ClientOs = "unix" | "powershell" | "wsl";
export const CLIENT_OSES: { id: ClientOs; label: string }[] = [
  { id: "unix", label: "macOS / Linux" },
  { id: "powershell", label: "Windows PowerShell" },
  { id: "wsl", label: "WSL" },
];

export interface Endpoint {
  host: string;
  port: number;
}

function check({ host, port }: Endpoint, file: string): void {
  if (!isPasteSafeHost(host)) throw new Error("unsafe host in ssh command");
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error("invalid port in ssh command");
  if (!isSafeKeyFileName(file)) throw new Error("unsafe key file name");
}

/** Where the key file ends up for ssh on this OS (the path ssh -i and IdentityFile name). */
export function identityPath(os: ClientOs, file = KEY_FILE_NAME): string {
  if (!isSafeKeyFileName(file)) throw new Error("unsafe key file name");
  switch (os) {
    case "unix":
      return `~/Downloads/${posixName(file)}`;
    case "powershell":
      return `"$env:USERPROFILE\\Downloads\\${file}"`;
    case "wsl":
      // Always the same name in ~/.ssh, whatever the browser called the download.
      return `~/.ssh/${KEY_FILE_NAME}`;
  }
}

/** The Windows Downloads folder as a WSL path (the Windows user name differs from the Linux one). */
const WSL_DOWNLOADS = `"$(wslpath "$(cmd.exe /c 'echo %USERPROFILE%' 2>/dev/null | tr -d '\\r')")/Downloads"`;

export function connectCommand(os: ClientOs, at: Endpoint, file = KEY_FILE_NAME): string {
  check(at, file);
  const target = `-p ${at.port} ${SSH_USER}@${at.host}`;
  switch (os) {
    case "unix":
      // The seed's command, exactly, for the default name.
      if (file === KEY_FILE_NAME) return sshCommand(at.host, at.port);
      return `chmod 600 ${identityPath("unix", file)} && ssh -i ${identityPath("unix", file)} ${target}`;
    case "powershell": {
      const key = identityPath("powershell", file);
      // icacls: drop inherited access and leave the user alone with read access (ssh refuses a key others can read).
      return [`icacls ${key} /inheritance:r /grant:r "\${env:USERNAME}:(R)"`, `ssh -i ${key} ${target}`].join("\n");
    }
    case "wsl": {
      const key = identityPath("wsl", file);
      return `mkdir -p ~/.ssh && cp ${WSL_DOWNLOADS}/${posixName(file)} ${key} && chmod 600 ${key} && ssh -i ${key} ${target}`;
    }
  }
}

/** The OS whose tab to show first, from navigator.platform / userAgentData.platform / userAgent. */
export function detectClientOs(platform: string, userAgent = ""): ClientOs {
  const p = `${platform} ${userAgent}`.toLowerCase();
  return /\bwin/.test(p) ? "powershell" : "unix";
}

/** A host only this machine reaches (the embedded target's default): the dialog says so. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || /^127\.\d+\.\d+\.\d+$/.test(h) || h === "::1" || h === "0:0:0:0:0:0:0:1";
}
