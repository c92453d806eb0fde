// The command people paste into their own terminal. Host and port are validated
// before they get here (see lib/targets/validate.ts), so the result is always
// safe to paste into a shell.
export const KEY_FILE_NAME = "meshia_key.pem";
export const SSH_USER = "mesh";

const SAFE_HOST = /^[A-Za-z0-9.:-]+$/;

/** Characters a host may have to appear in the command; validate.ts requires this of every registered host. */
export function isPasteSafeHost(host: string): boolean {
  return SAFE_HOST.test(host) && !host.startsWith("-");
}

export function sshCommand(host: string, port: number): string {
  if (!isPasteSafeHost(host)) throw new Error("unsafe host in ssh command");
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error("invalid port in ssh command");
  const file = `~/Downloads/${KEY_FILE_NAME}`;
  return `chmod 600 ${file} && ssh -i ${file} -p ${port} ${SSH_USER}@${host}`;
}
