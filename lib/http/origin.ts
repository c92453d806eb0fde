// Same-origin checks for state-changing requests and the terminal handshake: a page
// on another site must not be able to regenerate a key or open a shell.
import net from "node:net";
import { config } from "@/lib/config";

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
  const known = [cfg.host, cfg.publicUrl, ...cfg.allowedOrigins].filter((x): x is string => !!x).map((x) => (x.includes("://") ? new URL(x).hostname : x).toLowerCase());
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
 * Our own origin as the caller sees it, for links we hand out (invitations, target
 * config): MESHIA_PUBLIC_URL when set, else the request's Host (route handlers see an
 * internal URL in `req.url`, so the Host header is the truth).
 */
export function requestOrigin(headers: Headers): string {
  const cfg = config();
  if (cfg.publicUrl) return cfg.publicUrl;
  const host = headers.get("host") ?? `${cfg.host}:${cfg.port}`;
  const proto = headers.get("x-forwarded-proto") === "https" ? "https" : "http";
  return `${proto}://${host}`;
}
