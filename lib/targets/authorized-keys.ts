// "Which public keys may log in as `mesh` on this target right now?" Every target
// asks this at every login: sshd through AuthorizedKeysCommand and the HTTP route,
// the embedded target in-process. A new key works at once; a revoked one is refused at once.
import type { Db } from "@/db/client";
import type { ComputeTarget, WorkspaceKey } from "@/db/schema";
import { parsePublicKeyLine } from "@/lib/keys/fingerprint";
import { currentKey } from "@/lib/keys/store";
import { bridgePublicKey } from "@/lib/ssh/bridge-credential";
import { effectiveStatus } from "./registry";
import { SSH_USER } from "./ssh-command";

export interface AuthorizedKey {
  purpose: "workspace" | "bridge";
  /** sshd authorized_keys options, if any. */
  options: string | null;
  /** `type base64 comment` */
  key: string;
  blob: Buffer;
}

// The bridge only needs a PTY and a shell; refusing it everything else means a
// leaked bridge key cannot be used as a tunnel into the target's network.
const BRIDGE_OPTIONS = "no-port-forwarding,no-agent-forwarding,no-X11-forwarding";

export async function authorizedKeys(db: Db, target: ComputeTarget, user: string, opts: { liveWindowMs: number; now?: number }): Promise<AuthorizedKey[]> {
  if (user !== SSH_USER || effectiveStatus(target, opts.liveWindowMs, opts.now) !== "live") return [];
  return authorizedKeysFor(target, user, await currentKey(db, target.workspaceId), opts);
}

/** The same answer from what the caller already has: the target's row and its workspace's current key. */
export function authorizedKeysFor(
  target: ComputeTarget,
  user: string,
  current: WorkspaceKey | null,
  opts: { liveWindowMs: number; now?: number },
): AuthorizedKey[] {
  if (user !== SSH_USER) return [];
  if (effectiveStatus(target, opts.liveWindowMs, opts.now) !== "live") return [];
  const keys: AuthorizedKey[] = [];
  const ws = current && parsePublicKeyLine(current.publicKey);
  if (current && ws) keys.push({ purpose: "workspace", options: null, key: current.publicKey, blob: ws.blob });
  // This target's own bridge credential, and no other: what opens T opens T alone.
  const bridge = bridgePublicKey(target);
  keys.push({ purpose: "bridge", options: BRIDGE_OPTIONS, key: bridge.publicKey, blob: bridge.blob });
  return keys;
}

/** The keys as an authorized_keys file, as sshd reads AuthorizedKeysCommand's output. */
export function formatAuthorizedKeys(keys: AuthorizedKey[]): string {
  return keys.map((k) => (k.options ? `${k.options} ${k.key}` : k.key) + "\n").join("");
}
