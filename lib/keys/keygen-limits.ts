// The limits on generating a workspace key, in one place: the route spends them, and
// the lean path (lib/lean-routes.ts) refuses a caller already over one before
// Next parses anything. A refusal inside Next's route pipeline still cost ~4-6 ms of
// the one main thread, so a script looping on 429s filled a core and slowed everyone.
import type { Db } from "@/db/client";
import { config } from "@/lib/config";
import type { ApiError } from "@/lib/http/errors";
import { limit, rateLimited, rateLimiter } from "@/lib/http/rate-limit";

const PER_USER = "key generations";
const PER_WORKSPACE = "key generations in this workspace";

function limiters() {
  const { auth } = config();
  return { user: rateLimiter("keygen-user", auth.keygenUserRate), workspace: rateLimiter("keygen", auth.keygenRate) };
}

/** Spends one generation of `actor` (in `workspaceId`), or throws the 429 (503 when the limits' store is down). */
export async function spendKeygen(workspaceId: string, actor: string, db?: Db): Promise<void> {
  const l = limiters();
  await limit(l.user, actor, PER_USER, db);
  await limit(l.workspace, `${workspaceId}:${actor}`, PER_WORKSPACE, db);
}

/**
 * The 429 the route would answer `actor` in `workspaceId`, when this instance already
 * knows from memory that a limit refuses them (a key it saw go over); null otherwise,
 * and then the route decides. Synchronous, no query: cheap enough to ask on every POST.
 */
export function keygenRefusal(db: Db, workspaceId: string, actor: string): ApiError | null {
  const l = limiters();
  const user = l.user.blockedHere(db, actor);
  if (user) return rateLimited(l.user, PER_USER, user);
  const ws = l.workspace.blockedHere(db, `${workspaceId}:${actor}`);
  return ws ? rateLimited(l.workspace, PER_WORKSPACE, ws) : null;
}
