// Who is calling: a signed-in browser (session cookie) or a script with an API
// token (Authorization: Bearer mshk_…), which is scoped to one workspace.
import { eq } from "drizzle-orm";
import { appDb } from "@/db/client";
import { assertDatabaseReachable } from "@/db/outage";
import { user } from "@/db/schema";
import { auth } from "./auth";
import { API_TOKEN_PREFIX } from "./options";
import { recentSessions, sessionCookieValue } from "./recent-sessions";
import { verifiedTokens } from "./verified-tokens";
import { bearerToken } from "@/lib/http/bearer";

export interface Principal {
  userId: string;
  email: string;
  name: string;
  via: "session" | "token";
  /** For API tokens: the one workspace the token may act in. */
  tokenWorkspaceId?: string;
  tokenId?: string;
}

export async function principalFrom(headers: Headers): Promise<Principal | null> {
  const a = await auth();
  const token = bearerToken(headers.get("authorization"));
  if (token) {
    // Target tokens (mtt_) belong to other routes; only API tokens identify a person.
    if (!token.startsWith(API_TOKEN_PREFIX)) return null;
    // Verified a moment ago (and not revoked since): no need to ask better-auth, which
    // writes the token's row at every verification (lib/auth/verified-tokens.ts).
    const cache = verifiedTokens();
    const known = cache.get(token);
    if (known) return { userId: known.userId, email: known.email, name: known.name, via: "token", tokenWorkspaceId: known.workspaceId, tokenId: known.tokenId };
    const epoch = cache.current;
    let failure: unknown;
    const res = await a.api.verifyApiKey({ body: { key: token } }).catch((err: unknown) => ((failure = err), null));
    if (!res?.valid || !res.key) {
      // "Not signed in" only when the database could say so: better-auth answers
      // "invalid" when it could not look the key up.
      await assertDatabaseReachable(await appDb(), failure);
      return null;
    }
    const metadata = (res.key.metadata ?? {}) as { workspaceId?: unknown };
    if (typeof metadata.workspaceId !== "string") return null;
    const [owner] = await (await appDb()).select().from(user).where(eq(user.id, res.key.referenceId)).limit(1);
    if (!owner) return null;
    const expiresAt = res.key.expiresAt ? new Date(res.key.expiresAt).getTime() : null;
    cache.set(token, { userId: owner.id, email: owner.email, name: owner.name, workspaceId: metadata.workspaceId, tokenId: res.key.id, expiresAt }, epoch);
    return {
      userId: owner.id,
      email: owner.email,
      name: owner.name,
      via: "token",
      tokenWorkspaceId: metadata.workspaceId,
      tokenId: res.key.id,
    };
  }
  const cookie = sessionCookieValue(headers.get("cookie"));
  let failure: unknown;
  const session = await a.api.getSession({ headers }).catch((err: unknown) => ((failure = err), null));
  if (!session) {
    // A session cookie that finds no session: expired or signed out, or a database
    // that did not answer (better-auth may report that as "no session"). Only the
    // first is "sign in"; the second is a 503, never a 401 or a sign-in page.
    if (failure !== undefined || cookie !== null) await assertDatabaseReachable(await appDb(), failure);
    return null;
  }
  // For refusing this person's key-generation flood before Next (lib/auth/recent-sessions.ts).
  if (cookie) recentSessions().remember(cookie, session.user.id);
  return { userId: session.user.id, email: session.user.email, name: session.user.name, via: "session" };
}
