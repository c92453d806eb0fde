// "Test connection": the control plane does what a user's ssh would — reach the
// target's public address and port, handshake, check the host key against the
// pinned one, log in (with the target's bridge credential) — and times it.
//
// Not a port scanner: a result says more than "could not be reached" only when the
// server that answered proved to be this target (its host key is the pinned one,
// which only the target's own boot report sets). Every other outcome — a refused
// address, no DNS, a closed port, something that is not SSH, a host key that does
// not match — reads the same, takes at least the same time, and its cause goes to
// the server log only (the bridge does the same for terminals).
import type { Logger } from "pino";
import type { ComputeTarget } from "@/db/schema";
import { bridgePrivateKey } from "@/lib/ssh/bridge-credential";
import { BridgeConnectError, connectBridge, type BridgeTarget } from "@/lib/ssh/bridge";
import { resolveTargetAddress, TargetAddressRefused } from "@/lib/targets/network-policy";
import { SSH_USER } from "@/lib/targets/ssh-command";
import { hostKeyIsPinned } from "@/lib/targets/host-keys";

export const UNREACHABLE_MESSAGE = "The target could not be reached from Meshia.";

export type ConnectionTestResult =
  { reachable: true; hostKeyMatches: true; loggedIn: boolean; latencyMs: number; message: string } | { reachable: false; message: string };

export interface ConnectionTestDeps {
  resolve(host: string): Promise<string>;
  /** Resolves when logged in (with `target`'s bridge credential); rejects with a BridgeConnectError. The caller ends the client. */
  connect(at: BridgeTarget, target: ComputeTarget): Promise<{ end(): void }>;
  /** Every failure answers no sooner than this after the start (so timing tells nothing either). */
  failureFloorMs: number;
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const defaultDeps: ConnectionTestDeps = {
  resolve: (host) => resolveTargetAddress(host),
  connect: (at, target) => connectBridge(at, { privateKey: bridgePrivateKey(target), readyTimeoutMs: 5_000, keepaliveIntervalMs: 0 }),
  failureFloorMs: 5_000,
  now: () => performance.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

export async function testConnection(
  target: ComputeTarget & { port: number },
  log: Logger,
  deps: ConnectionTestDeps = defaultDeps,
): Promise<ConnectionTestResult> {
  const start = deps.now();
  const fail = async (reason: string, detail: string): Promise<ConnectionTestResult> => {
    log.info({ targetId: target.id, reason, detail }, "connection test: target not reached");
    const wait = deps.failureFloorMs - (deps.now() - start);
    if (wait > 0) await deps.sleep(wait);
    return { reachable: false, message: UNREACHABLE_MESSAGE };
  };
  let address = target.host;
  // The embedded target is this server's own; every other address must be one targets may be at.
  if (target.kind !== "local") {
    try {
      address = await deps.resolve(target.host);
    } catch (err) {
      if (err instanceof TargetAddressRefused) return fail("address_refused", err.reason);
      return fail("dns", err instanceof Error ? err.message : String(err));
    }
  }
  const pinned = { address, port: target.port, user: SSH_USER, isPinned: (key: Buffer) => hostKeyIsPinned(target, key) };
  let loggedIn = true;
  try {
    const client = await deps.connect(pinned, target);
    client.end();
  } catch (err) {
    // Refused login after the host key matched: it is this target, and its key lookup is what fails.
    if (err instanceof BridgeConnectError && err.reason === "auth_refused") loggedIn = false;
    else return fail(err instanceof BridgeConnectError ? err.reason : "error", err instanceof Error ? err.message : String(err));
  }
  const latencyMs = Math.max(1, Math.round(deps.now() - start));
  return {
    reachable: true,
    hostKeyMatches: true,
    loggedIn,
    latencyMs,
    message: loggedIn
      ? `Reachable: the target answered with its pinned host key and accepted a login in ${latencyMs} ms.`
      : `Reachable, and the host key matches the pinned one (${latencyMs} ms), but the target refused Meshia's login: its key lookup (AuthorizedKeysCommand) is not working.`,
  };
}
