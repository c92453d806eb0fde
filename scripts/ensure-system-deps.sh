#!/usr/bin/env bash
# Installs the system packages the tests drive, when they are missing: Debian's
# Chromium (browser tests), the OpenSSH client and server (real SSH on both ends),
# the sftp-server the embedded target runs for scp/sftp/rsync, rsync and git (the
# everyday uses tested against it), bubblewrap (the sandbox for servers not run as
# root, tested too), util-linux's setpriv/prlimit (how root drops to `mesh`) and
# curl (the shipped AuthorizedKeysCommand script). Needs root on Debian/Ubuntu.
set -euo pipefail

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1 && command -v scp >/dev/null 2>&1 || need+=(openssh-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
[ -x /usr/lib/openssh/sftp-server ] || need+=(openssh-sftp-server)
command -v rsync >/dev/null 2>&1 || need+=(rsync)
command -v git >/dev/null 2>&1 || need+=(git)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v setpriv >/dev/null 2>&1 && command -v prlimit >/dev/null 2>&1 || need+=(util-linux)
command -v curl >/dev/null 2>&1 || need+=(curl)

if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing system packages: ${need[*]}. Install them (apt-get install -y ${need[*]}) and run again." >&2
  exit 1
fi
echo "Installing ${need[*]} …" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
