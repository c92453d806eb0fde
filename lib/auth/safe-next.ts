// Where to send someone after signing in: a path on this site, never another site.
const BASE = "http://meshia.invalid";

/**
 * `next` as a local path (with its query and fragment), or "/". Checking for a
 * leading "/" and no "//" is not enough: browsers read "/\evil.example" and
 * "/<tab>/evil.example" as "//evil.example", another site, and dot segments
 * ("/.//x", "/..//x", "/%2e%2e//x") normalise to "//x". So the path is normalised
 * first (as a browser would), and only a result that is still a path on this site
 * is kept.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== "string" || !next.startsWith("/")) return "/";
  // Backslashes and control characters are where URL parsers disagree: refuse them outright.
  if (/[\\\u0000-\u001f\u007f]/.test(next)) return "/";
  let url: URL;
  try {
    url = new URL(next, BASE);
  } catch {
    return "/";
  }
  if (url.origin !== BASE) return "/";
  const out = `${url.pathname}${url.search}${url.hash}`;
  if (!out.startsWith("/") || out.startsWith("//") || new URL(out, BASE).origin !== BASE) return "/";
  return out;
}
