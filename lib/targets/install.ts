// What an operator installs on an OpenSSH target: the sshd drop-in, the config
// file the shipped scripts read, the agent's service unit, and the steps to put
// them in place. Generated per target at registration.
export const AUTHORIZED_KEYS_SCRIPT_PATH = "/usr/local/libexec/meshia-authorized-keys";
export const AGENT_SCRIPT_PATH = "/usr/local/libexec/meshia-target-agent";
export const TARGET_CONF_PATH = "/etc/meshia/target.conf";
export const SSHD_DROP_IN_PATH = "/etc/ssh/sshd_config.d/meshia.conf";
export const AGENT_UNIT_PATH = "/etc/systemd/system/meshia-target-agent.service";
export const TARGET_SCRIPTS = ["meshia-authorized-keys", "meshia-target-agent"] as const;

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
    `# ${SSHD_DROP_IN_PATH}`,
    "# sshd asks Meshia for the keys of user mesh at every login: a new workspace key",
    "# works at once, a regenerated or revoked one is refused at once.",
    // %f: the offered key, for the audit. Where sshd expands %C (Debian 13's OpenSSH 10 does), append it (where the
    // login comes from); older sshd refuses every login when the command has %C.
    `AuthorizedKeysCommand ${scriptPath} ${confPath} %u %f`,
    "# Where this sshd expands %C (OpenSSH 10 does; 9.2 refuses every login with it), append %C above: the audit then shows where logins come from.",
    "AuthorizedKeysCommandUser nobody",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "# Meshia alone decides who logs in as mesh: a key written to ~mesh/.ssh/authorized_keys",
    "# (by anyone who once had a shell) must not outlive Regenerate or Revoke. A Match in",
    "# a drop-in ends with the file, so the rest of sshd_config is unaffected.",
    "Match User mesh",
    "    AuthorizedKeysFile none",
    "",
  ].join("\n");
}

/** A systemd unit running `meshia-target-agent run`: boot report, heartbeats, stop on shutdown. */
export function agentUnit(confPath = TARGET_CONF_PATH, agentPath = AGENT_SCRIPT_PATH): string {
  return [
    `# ${AGENT_UNIT_PATH}`,
    "[Unit]",
    "Description=Meshia target agent (boot report and heartbeats)",
    "Wants=network-online.target",
    "After=network-online.target ssh.service",
    "",
    "[Service]",
    `ExecStart=${agentPath} ${confPath} run`,
    // It needs no privilege: the config is readable through group nogroup, host
    // public keys and the kernel's boot id by everyone.
    "User=nobody",
    "Group=nogroup",
    "Restart=always",
    "RestartSec=5",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

export interface InstallStep {
  title: string;
  command: string;
}

/** The commands, in order, for a Debian-like host with systemd (run as an admin with sudo). */
export function installSteps(controlPlaneUrl: string): InstallStep[] {
  const fetchScript = (name: string) =>
    `t=$(mktemp) && curl -fsSL "${controlPlaneUrl}/target-scripts/${name}" -o "$t" && sudo install -o root -g root -m 755 "$t" /usr/local/libexec/${name}; rm -f "$t"`;
  return [
    {
      // sshd refuses an AuthorizedKeysCommand that anyone but root could change.
      title: "Install the two scripts, root-owned, mode 755, in a root-owned directory",
      command: ["sudo install -d -o root -g root -m 755 /usr/local/libexec", ...TARGET_SCRIPTS.map(fetchScript)].join("\n"),
    },
    {
      title: `Save target.conf (given with this registration) and install it as ${TARGET_CONF_PATH}, readable by nobody through group nogroup only`,
      command: `sudo install -d -o root -g root -m 755 /etc/meshia\nsudo install -o root -g nogroup -m 640 target.conf ${TARGET_CONF_PATH}`,
    },
    {
      title: "Create the user mesh (if missing) and unlock it for key logins (sshd refuses locked accounts without PAM)",
      command: "id mesh >/dev/null 2>&1 || sudo useradd -m -s /bin/bash mesh\nsudo usermod -p '*' mesh",
    },
    {
      title: `Save meshia.conf (given with this registration) as ${SSHD_DROP_IN_PATH}: sshd asks Meshia for keys, as nobody (AuthorizedKeysCommandUser nobody)`,
      command: `sudo install -o root -g root -m 644 meshia.conf ${SSHD_DROP_IN_PATH}\nsudo sshd -t && sudo systemctl reload ssh`,
    },
    {
      title: "Run meshia-target-agent run as a service: it reports each boot and keeps the target live",
      command: `sudo install -o root -g root -m 644 meshia-target-agent.service ${AGENT_UNIT_PATH}\nsudo systemctl daemon-reload && sudo systemctl enable --now meshia-target-agent`,
    },
  ];
}

/** Everything a new OpenSSH target needs, as the registration answer carries it (the token is in it: shown once). */
export function installBundle(opts: { controlPlaneUrl: string; targetId: string; token: string; publicPort: number }) {
  const url = opts.controlPlaneUrl;
  return {
    [TARGET_CONF_PATH]: targetConf(opts),
    [SSHD_DROP_IN_PATH]: sshdConfig(),
    [AGENT_UNIT_PATH]: agentUnit(),
    scripts: Object.fromEntries(TARGET_SCRIPTS.map((s) => [s, `${url}/target-scripts/${s}`])),
    steps: installSteps(url),
  };
}
