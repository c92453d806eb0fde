// The sftp subsystem (scp's default mode since OpenSSH 9.0, sftp, rsync's and
// editors' file access): the system's own sftp-server, run in the sandbox over the
// channel's pipes, exactly as sshd's `Subsystem sftp` does.
import { accessSync, constants } from "node:fs";
import type { ServerChannel } from "ssh2";
import { runPipes, type Control, type ShellContext } from "./shell";

const CANDIDATES = [
  "/usr/lib/openssh/sftp-server", // Debian, Ubuntu (openssh-sftp-server)
  "/usr/libexec/openssh/sftp-server", // Fedora, RHEL
  "/usr/libexec/sftp-server", // macOS
  "/usr/lib/ssh/sftp-server", // Arch
];

export const SFTP_MISSING = "sftp-server is not installed on this target; install it (Debian: apt-get install openssh-sftp-server).\r\n";

export function findSftpServer(candidates = CANDIDATES): string | null {
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** Runs sftp-server on the channel, or says on the channel why it cannot. */
export function runSftp(ctx: ShellContext, channel: ServerChannel, server: string | null, env: Record<string, string>): Control | null {
  if (!server) {
    channel.stderr.write(SFTP_MISSING);
    channel.exit(127);
    channel.end();
    return null;
  }
  return runPipes(ctx, channel, [server], env);
}
