// The bridge's SSH client: logs in to a target as `mesh` with the control plane's
// bridge key and accepts only the target's pinned host key.
import ssh2, { type Client, type ClientChannel } from "ssh2";
import { SSH_USER } from "@/lib/targets/ssh-command";

export class HostKeyMismatchError extends Error {
  readonly code = "host_key_mismatch";
  constructor() {
    super("The target's host key does not match the pinned one; refusing to connect (possible man-in-the-middle).");
  }
}

export interface BridgeTarget {
  host: string;
  port: number;
  /** True when the host key blob the server presented is pinned for this target. */
  isPinned(hostKey: Buffer): boolean;
}

export interface BridgeConnectOptions {
  privateKey: string;
  readyTimeoutMs?: number;
  keepaliveIntervalMs?: number;
}

/** Opens an authenticated SSH connection to the target; the caller owns `client.end()`. */
export function connectBridge(target: BridgeTarget, opts: BridgeConnectOptions): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let mismatch = false;
    const fail = (err: Error) => {
      client.removeAllListeners("ready");
      client.end();
      reject(mismatch ? new HostKeyMismatchError() : err);
    };
    client.once("ready", () => {
      client.removeListener("error", fail);
      resolve(client);
    });
    client.once("error", fail);
    client.connect({
      host: target.host,
      port: target.port,
      username: SSH_USER,
      privateKey: opts.privateKey,
      readyTimeout: opts.readyTimeoutMs ?? 10_000,
      keepaliveInterval: opts.keepaliveIntervalMs ?? 15_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        const ok = target.isPinned(key);
        if (!ok) mismatch = true;
        return ok;
      },
    });
  });
}

export function openShell(client: Client, size: { cols: number; rows: number }): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.shell({ term: "xterm-256color", cols: size.cols, rows: size.rows, height: 0, width: 0 }, (err, channel) =>
      err ? reject(err) : resolve(channel),
    );
  });
}
