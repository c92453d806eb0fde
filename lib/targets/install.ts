// What an operator installs on an OpenSSH target: the sshd drop-in and the config
// file the shipped scripts read. Generated per target at registration.
export const AUTHORIZED_KEYS_SCRIPT_PATH = "/usr/local/libexec/meshia-authorized-keys";
export const AGENT_SCRIPT_PATH = "/usr/local/libexec/meshia-target-agent";
export const TARGET_CONF_PATH = "/etc/meshia/target.conf";

export function targetConf(opts: { controlPlaneUrl: string; targetId: string; token: string; publicPort?: number | null }): string {
  return [
    "# Meshia compute target: read by meshia-authorized-keys (as nobody) and meshia-target-agent.",
    "# Install root-owned: chown root:nogroup and chmod 640.",
    `MESHIA_URL=${opts.controlPlaneUrl}`,
    `MESHIA_TARGET_ID=${opts.targetId}`,
    `MESHIA_TARGET_TOKEN=${opts.token}`,
    `MESHIA_PUBLIC_PORT=${opts.publicPort ?? 22}`,
    "",
  ].join("\n");
}

export function sshdConfig(confPath = TARGET_CONF_PATH, scriptPath = AUTHORIZED_KEYS_SCRIPT_PATH): string {
  return [
    "# /etc/ssh/sshd_config.d/meshia.conf",
    "# sshd asks Meshia for the keys of user mesh at every login: a new workspace key",
    "# works at once, a regenerated or revoked one is refused at once.",
    `AuthorizedKeysCommand ${scriptPath} ${confPath} %u`,
    "AuthorizedKeysCommandUser nobody",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "",
  ].join("\n");
}
