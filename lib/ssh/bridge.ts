// The bridge's SSH client: logs in to a target as its sandboxed user with that
// target's own bridge credential and accepts only the target's pinned host key.
// It knows nothing of how targets are stored: the caller says where, as whom, and
// which host keys are pinned.
import ssh2, { type Client, type ClientChannel } from "ssh2";
import { BrandedError } from "@/lib/util/branded-error";

/** How a bridge connection failed; for the server log only (users are told "could not be reached"). */
export type BridgeFailure = "address_refused" | "dns" | "tcp" | "timeout" | "handshake" | "host_key_mismatch" | "auth_refused" | "channel";

export class BridgeConnectError extends BrandedError {
  static override readonly brand: string = "BridgeConnectError";
  constructor(
    readonly reason: BridgeFailure,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

export interface BridgeTarget {
  /** The address to connect to: an IP address the network policy already allowed. */
  address: string;
  port: number;
  /** Who to log in as (lib/targets/ssh-command.ts's SSH_USER). */
  user: string;
  /** True when the host key blob the server presented is pinned for this target. */
  isPinned(hostKey: Buffer): boolean;
}

export interface BridgeConnectOptions {
  /** This target's bridge credential (lib/ssh/bridge-credential.ts). */
  privateKey: string;
  readyTimeoutMs?: number;
  keepaliveIntervalMs?: number;
}

/**
 * What the bridge offers, best first: AEAD ciphers only. AES-GCM first: ssh2 runs it
 * in OpenSSL (its native binding), with AES-NI on any x86 server of the last decade;
 * ChaCha20-Poly1305 for a host without AES-GCM. Every OpenSSH since 6.5 and ssh2's
 * Server (the embedded target) offer both; a host with neither is refused (no MAC-based
 * cipher is offered, so the MACs listed only complete the key exchange's lists). ssh2's own defaults happen to put AES-GCM first on this hardware too, but also
 * offer CTR modes; being explicit keeps the set and its order the same everywhere
 * (bench:terminal's direct client uses this too, so the comparison stays fair).
 */
export const BRIDGE_ALGORITHMS = {
  cipher: ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com"],
  hmac: ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com"],
} as const;

const NETWORK_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "EPIPE", "ETIMEDOUT"]);

function classify(err: Error & { level?: string; code?: string }, mismatch: boolean): BridgeConnectError {
  if (mismatch) return new BridgeConnectError("host_key_mismatch", "the target's host key does not match the pinned one (possible man-in-the-middle)");
  if (err.level === "client-authentication") return new BridgeConnectError("auth_refused", "the target refused this target's bridge credential");
  if (err.level === "client-timeout") return new BridgeConnectError("timeout", err.message);
  if (err.code && NETWORK_ERRORS.has(err.code)) return new BridgeConnectError("tcp", `${err.code}: ${err.message}`);
  return new BridgeConnectError("handshake", err.message);
}

/** Opens an authenticated SSH connection to the target; the caller owns `client.end()`. */
export function connectBridge(target: BridgeTarget, opts: BridgeConnectOptions): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let mismatch = false;
    const fail = (err: Error) => {
      client.removeAllListeners("ready");
      client.end();
      reject(classify(err, mismatch));
    };
    client.once("ready", () => {
      client.removeListener("error", fail);
      // ssh2 leaves Nagle on: a keystroke written right after a window adjust then
      // waited for that packet's (delayed) ACK. Interactive, as OpenSSH's client is.
      client.setNoDelay(true);
      resolve(client);
    });
    client.once("error", fail);
    client.connect({
      host: target.address,
      port: target.port,
      username: target.user,
      privateKey: opts.privateKey,
      readyTimeout: opts.readyTimeoutMs ?? 10_000,
      keepaliveInterval: opts.keepaliveIntervalMs ?? 15_000,
      keepaliveCountMax: 3,
      algorithms: { cipher: [...BRIDGE_ALGORITHMS.cipher], hmac: [...BRIDGE_ALGORITHMS.hmac] },
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
    client.shell({ term: "xterm-256color", cols: size.cols, rows: size.rows, height: 0, width: 0 }, (err, channel) => (err ? reject(err) : resolve(channel)));
  });
}

/** Controls how much more output the target may send on a channel. */
export interface ReceiveWindow {
  /**
   * Lets the target send at most `bytes` beyond what it has sent so far (0: stop).
   * Window already granted cannot be taken back, so the bound applies once the
   * target has used it up.
   */
  allow(bytes: number): void;
}

/**
 * Grants are batched: a window adjust is sent once the shortfall reaches this. At
 * 32 KiB the bridge sent one (encrypted, written, and woken for at the target) per
 * output frame acknowledged; a quarter of the session's high-water mark keeps the
 * bound just as tight with a quarter of the packets.
 */
const MIN_GRANT = 128 * 1024;
/** SSH windows are uint32. */
const MAX_SSH_WINDOW = 2 ** 32 - 1;
/** Where ssh2's own window count is parked (see receiveWindow). */
const PARKED = Number.MAX_SAFE_INTEGER;

interface Ssh2ChannelInternals {
  incoming?: { window: number };
  outgoing?: { id?: number; state?: string };
}
interface Ssh2ClientInternals {
  _protocol?: { channelWindowAdjust?(remoteId: number, amount: number): void };
}

/**
 * ssh2 gives every channel a fixed 2 MiB receive window and tops it up by itself
 * whenever half of it is used, even while the stream is paused (it keeps buffering
 * up to 2 MiB more). Pausing the stream therefore leaves up to ~4 MiB on its way to
 * the browser, so Ctrl-C after a flood (`yes`) took seconds to show. Here we take
 * over the window: ssh2's own bookkeeping is parked at a value it never tops up
 * from, and we grant the target exactly what the caller allows, so backpressure
 * reaches the target as the protocol intends (OpenSSH's sshd then stops reading the
 * pty). ssh2 exposes no API for this, hence the internals; if they ever change, this
 * returns undefined and the caller falls back to pausing the stream.
 *
 * The 2 MiB ssh2 granted when the channel opened cannot be taken back: the bound
 * holds from the moment the target has used that up.
 */
export function receiveWindow(client: Client, channel: ClientChannel): ReceiveWindow | undefined {
  const ch = channel as unknown as Ssh2ChannelInternals;
  const proto = (client as unknown as Ssh2ClientInternals)._protocol;
  const remoteId = ch.outgoing?.id;
  const initial = ch.incoming?.window;
  const incoming = ch.incoming;
  if (!proto?.channelWindowAdjust || typeof remoteId !== "number" || typeof initial !== "number" || !incoming) return undefined;
  // ssh2 tops up when its count falls to 1 MiB and drops data when it reaches 0:
  // parked this high it does neither within the life of any session, and it
  // still subtracts every byte it receives (stdout and stderr), which is how we
  // count what the target has used.
  incoming.window = PARKED;
  let granted = initial; // what ssh2 had granted and the target not yet used
  const remote = () => granted - (PARKED - incoming.window);
  return {
    allow(bytes) {
      const target = Math.min(Math.max(0, Math.floor(bytes)), MAX_SSH_WINDOW);
      const left = remote();
      const grant = target - left;
      // Small grants wait until they add up to MIN_GRANT (a packet per ack costs
      // padding, encryption and a socket write), except when the target has used up
      // its window: then whatever the caller allows goes at once. Waiting there too
      // deadlocked a paste into `cat` in the browser (its echo stopped half-way, the
      // e2e paste test): the window stayed shut while what the caller allowed never
      // added up to MIN_GRANT.
      if (grant < MIN_GRANT && !(grant > 0 && left <= 0)) return;
      if (ch.outgoing?.state === "closed") return;
      granted += grant;
      proto.channelWindowAdjust!(remoteId, grant);
    },
  };
}
