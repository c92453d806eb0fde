// Where to send someone after signing in: a path on this site, never another site.
const BASE = "http://meshia.invalid";

/**
 * `next` as a local path (with its query and fragment), or "/". Checking for a
 * leading "/" and no "//" is not enough: browsers read "/\evil.example" and
 * "/<tab>/evil.example" as "//evil.example", another site.
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
  return `${url.pathname}${url.search}${url.hash}`;
}
