// Security headers on every page and API response: a CSP that allows only our own
// origin (scripts by per-request nonce, the terminal WebSocket on the same host),
// no framing, no MIME sniffing, no referrer.
import { NextResponse, type NextRequest } from "next/server";
import { trustedHost } from "@/lib/http/origin";

export function proxy(request: NextRequest) {
  const nonce = btoa(crypto.randomUUID());
  // The terminal socket is on this very host. Only a plain host that names this server
  // goes into the policy: a crafted Host header ("x; script-src *", "x *") copied in
  // verbatim would add directives and sources to the response's policy.
  const host = trustedHost(request.headers.get("host"));
  const dev = process.env.NODE_ENV !== "production";
  const csp = [
    "default-src 'self'",
    // Next's inline bootstrap scripts carry the nonce; dev mode's React refresh needs eval.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    // xterm.js and Radix set styles at run time.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self'${host ? ` ws://${host} wss://${host}` : ""}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");

  // Next reads the nonce for its own scripts from the request's CSP header.
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("x-nonce", nonce);
  requestHeaders.set("Content-Security-Policy", csp);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("Content-Security-Policy", csp);
  response.headers.set("X-Content-Type-Options", "nosniff");
  response.headers.set("Referrer-Policy", "no-referrer");
  response.headers.set("X-Frame-Options", "DENY");
  response.headers.set("Cross-Origin-Opener-Policy", "same-origin");
  return response;
}

export const config = {
  matcher: ["/((?!_next/static|_next/image|icon.svg).*)"],
};
