// The credential of an `Authorization: Bearer <token>` header, one parse for every
// route and the lean path (API tokens, target tokens, the metrics token).

/** The token of a Bearer header, or null when there is none (or the header is malformed). */
export function bearerToken(header: string | null | undefined): string | null {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1] ?? null;
}
