// Same-origin checks for state-changing requests and the terminal handshake: a page
// on another site must not be able to regenerate a key or open a shell.
import net from "node:net";
import { config } from "@/lib/config";
import { ApiError } from "./errors";

/** host[:port] or [v6]:port, nothing else: the Host header is the client's to write. */
const PLAIN_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** The Host header when it is a plain host that names this server; null for anything else. */
export function trustedHost(host: string | null | undefined): string | null {
  return host && PLAIN_HOST.test(host) && hostIsOurs(host) ? host : null;
}

function hostnameOf(host: string): string {
  try {
    return new URL(`http://${host}`).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return "";
  }
}

/**
 * Whether a Host header names this server. A page is only "same origin" through a
 * host we know: an IP literal, localhost, the listen host, or a configured origin.
 * Trusting any Host would let DNS rebinding (evil.example resolving to 127.0.0.1)
 * pass for same-origin.
 */
export function hostIsOurs(host: string): boolean {
  const name = hostnameOf(host).toLowerCase();
  if (!name) return false;
  if (net.isIP(name) || name === "localhost" || name.endsWith(".localhost")) return true;
  const cfg = config();
  const known = [cfg.host, cfg.publicUrl, ...cfg.allowedOrigins]
    .filter((x): x is string => !!x)
    .map((x) => (x.includes("://") ? new URL(x).hostname : x).toLowerCase());
  return known.includes(name);
}

/** The origins allowed to talk to us: our own (through a known Host) plus the configured allowlist. */
export function allowedOrigins(host: string | null | undefined, forwardedProto?: string | null): Set<string> {
  const cfg = config();
  const set = new Set(cfg.allowedOrigins);
  if (cfg.publicUrl) set.add(new URL(cfg.publicUrl).origin);
  if (host && hostIsOurs(host)) {
    set.add(`http://${host}`);
    if (forwardedProto === "https") set.add(`https://${host}`);
  }
  return set;
}

/**
 * A browser always sends Origin on cross-origin and state-changing requests; a
 * request without it comes from a script or CLI, which CSRF cannot forge.
 */
export function originAllowed(origin: string | null | undefined, host: string | null | undefined, forwardedProto?: string | null): boolean {
  if (origin === undefined || origin === null) return true;
  if (origin === "null") return false;
  return allowedOrigins(host, forwardedProto).has(origin.replace(/\/$/, ""));
}

/**
 * Our own origin as the caller sees it, for links and commands we hand out
 * (invitations, targets' config and install steps): MESHIA_PUBLIC_URL when set,
 * else the request's Host, but only a Host that names this server (trustedHost).
 * A Host such as `x"$(touch /tmp/pwned)"` or `evil.example` must never end up in
 * an install command or an invitation link. Null when there is no origin to trust.
 */
export function publicOrigin(headers: Headers): string | null {
  const cfg = config();
  if (cfg.publicUrl) return cfg.publicUrl;
  const host = trustedHost(headers.get("host"));
  if (!host) return null;
  const proto = headers.get("x-forwarded-proto") === "https" ? "https" : "http";
  return `${proto}://${host}`;
}

/** publicOrigin, or a 400 saying to set MESHIA_PUBLIC_URL (route handlers). */
export function requestOrigin(headers: Headers): string {
  const origin = publicOrigin(headers);
  if (!origin) {
    throw new ApiError(
      "bad_request",
      "This request's Host header does not name this server, so no link or install command can be made from it. Set MESHIA_PUBLIC_URL to the URL people and targets reach Meshia at.",
      { reason: "public_url_required" },
    );
  }
  return origin;
}
