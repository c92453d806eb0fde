// Same-origin checks for state-changing requests and the terminal handshake: a page
// on another site must not be able to regenerate a key or open a shell.
import { config } from "@/lib/config";

/** The origins allowed to talk to us: our own (from the Host header) plus the configured allowlist. */
export function allowedOrigins(host: string | null | undefined, forwardedProto?: string | null): Set<string> {
  const set = new Set(config().allowedOrigins);
  if (config().publicUrl) set.add(new URL(config().publicUrl!).origin);
  if (host) {
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
