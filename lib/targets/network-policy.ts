// Where a compute target may be. A target's host is whatever its owner typed, and
// the bridge connects there from inside the control plane: without a rule, anyone
// who can register a target can make the control plane connect to its own
// loopback services, to the cloud metadata address, or to its own ports.
//
// Refused unless MESHIA_TARGET_ALLOWED_NETWORKS allows the address: loopback,
// link-local (169.254.0.0/16 with the metadata address, fe80::/10), unspecified
// (0.0.0.0/8 and ::, which reach this host), multicast and broadcast, and every
// address of this machine. The rule is applied at registration and again at every
// connect, to the addresses a DNS name resolves to then (DNS rebinding).
import dns from "node:dns/promises";
import os from "node:os";
import ipaddr from "ipaddr.js";
import { config } from "@/lib/config";
import { ApiError } from "@/lib/http/errors";

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Why a target's address is refused (`reason`: a sentence naming the address); a 400 on the host field. */
export class TargetAddressRefused extends ApiError {
  static override readonly brand: string = "TargetAddressRefused";
  constructor(
    readonly host: string,
    readonly reason: string,
  ) {
    super("invalid_field", `host: ${reason}`, { fields: [{ field: "host", message: reason }] });
  }
}

const REFUSED_RANGES: Record<string, string> = {
  loopback: "a loopback address",
  linkLocal: "a link-local address (this includes the cloud metadata address)",
  unspecified: "an unspecified address (it reaches the control plane itself)",
  multicast: "a multicast address",
  broadcast: "a broadcast address",
};

function normalise(addr: Address): Address {
  // ::ffff:127.0.0.1 is 127.0.0.1 to the kernel.
  if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress()) return (addr as ipaddr.IPv6).toIPv4Address();
  return addr;
}

function parse(ip: string): Address | null {
  const bare = ip.replace(/^\[|\]$/g, "");
  if (!ipaddr.isValid(bare)) return null;
  try {
    return normalise(ipaddr.parse(bare));
  } catch {
    return null;
  }
}

function inAllowedNetwork(addr: Address): boolean {
  return config().targetAllowedNetworks.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits));
}

/** Every address of this machine (all interfaces), as the kernel would route to us. */
function ownAddresses(): Address[] {
  const out: Address[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      const parsed = parse(a.address.split("%")[0]!);
      if (parsed) out.push(parsed);
    }
  }
  const listen = parse(config().host);
  if (listen) out.push(listen);
  return out;
}

/** Why `ip` may not be a target's address, or null when it may. */
export function addressRefusal(ip: string): string | null {
  const addr = parse(ip);
  if (!addr) return `${ip} is not an IP address`;
  if (inAllowedNetwork(addr)) return null;
  const range = addr.range();
  const what = REFUSED_RANGES[range] ?? (addr.kind() === "ipv4" && addr.toString() === "255.255.255.255" ? REFUSED_RANGES.broadcast : undefined);
  if (what) return `${addr.toString()} is ${what}`;
  const own = ownAddresses();
  if (own.some((o) => o.kind() === addr.kind() && o.toString() === addr.toString())) return `${addr.toString()} is an address of the control plane itself`;
  return null;
}

const LOCAL_NAME = /(^|\.)localhost$/i;
const ALLOW_HINT = " Targets may not be there unless MESHIA_TARGET_ALLOWED_NETWORKS allows it.";

/** Resolves a name to all its addresses (the system resolver, as the kernel's connect would use). */
export type Lookup = (host: string) => Promise<string[]>;
const systemLookup: Lookup = (host) => dns.lookup(host, { all: true, verbatim: true }).then((list) => list.map((a) => a.address));

async function lookupAll(host: string, timeoutMs: number, lookup: Lookup): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      lookup(host),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`resolving ${host} took over ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * At registration: refuses a host that is, or now resolves to, an address targets
 * may not be at. A name that does not resolve yet is accepted (it is checked again
 * at every connect).
 */
export async function checkTargetHost(host: string, opts: { timeoutMs?: number; lookup?: Lookup } = {}): Promise<void> {
  if (parse(host)) {
    const why = addressRefusal(host);
    if (why) throw new TargetAddressRefused(host, why + "." + ALLOW_HINT);
    return;
  }
  if (LOCAL_NAME.test(host)) throw new TargetAddressRefused(host, `${host} names this machine (loopback).${ALLOW_HINT}`);
  const addresses = await lookupAll(host, opts.timeoutMs ?? 2000, opts.lookup ?? systemLookup).catch(() => []);
  for (const a of addresses) {
    const why = addressRefusal(a);
    if (why) throw new TargetAddressRefused(host, `${host} resolves to ${a}: ${why}.${ALLOW_HINT}`);
  }
}

/**
 * At connect: the address to connect to. A name is resolved now and every address
 * it resolves to must be allowed; the caller connects to the returned address, never
 * to the name, so the answer cannot change between this check and the connect.
 */
export async function resolveTargetAddress(host: string, opts: { timeoutMs?: number; lookup?: Lookup } = {}): Promise<string> {
  if (parse(host)) {
    const why = addressRefusal(host);
    if (why) throw new TargetAddressRefused(host, why);
    return parse(host)!.toString();
  }
  if (LOCAL_NAME.test(host)) throw new TargetAddressRefused(host, `${host} names this machine (loopback)`);
  const addresses = await lookupAll(host, opts.timeoutMs ?? 5000, opts.lookup ?? systemLookup);
  if (!addresses.length) throw new Error(`${host} did not resolve`);
  for (const a of addresses) {
    const why = addressRefusal(a);
    if (why) throw new TargetAddressRefused(host, `${host} resolves to ${a}: ${why}`);
  }
  return addresses[0]!;
}
