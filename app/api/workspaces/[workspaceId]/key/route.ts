// /api/workspaces/{workspaceId}/key
//   GET    – the current workspace key (public half only), 404 when none.
//   POST   – generate a new key pair, save its public half, return the private PEM once as a download.
//   DELETE – revoke the current key on every target.
import { withWorkspace } from "@/lib/auth/access";
import { ApiError } from "@/lib/http/errors";
import { defineRoute, json } from "@/lib/http/route";
import { currentKey, keyView, revokeKey, saveKey } from "@/lib/keys/store";
import { workspaceKeyPool } from "@/lib/keys/key-pool";
import { KEY_FILE_NAME } from "@/lib/targets/ssh-command";
import { spendKeygen } from "@/lib/keys/keygen-limits";
import { metrics } from "@/lib/metrics";
import type { KeyRevoked } from "@/lib/http/contract";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: withWorkspace(async (_req, { db, workspace }) => {
    const key = await currentKey(db, workspace.id);
    if (!key) throw new ApiError("not_found", "This workspace has no key yet.");
    return json(keyView(key));
  }),

  // Any request body is ignored: there is nothing to choose.
  POST: withWorkspace(
    async (_req, { db, workspace, actor }) => {
      await spendKeygen(workspace.id, actor, db);
      const { pem, ...pub } = await workspaceKeyPool().take(`meshia-${workspace.id.slice(0, 8)}`, actor);
      metrics().keyGenerations.inc();
      const saved = await saveKey(db, workspace.id, pub, actor);
      return new Response(pem, {
        status: 200,
        headers: {
          "Content-Type": "application/x-pem-file",
          "Content-Disposition": `attachment; filename="${KEY_FILE_NAME}"`,
          "Cache-Control": "no-store",
          // What the dialog shows next to Download and Copy, matching this very PEM.
          "X-Key-Fingerprint": saved.fingerprint,
          "X-Key-Algorithm": saved.algorithm,
          "X-Key-Saved-At": saved.savedAt.toISOString(),
        },
      });
    },
    { role: "owner" },
  ),

  DELETE: withWorkspace(
    async (_req, { db, workspace, actor }) => {
      const revoked = await revokeKey(db, workspace.id, actor);
      if (!revoked) throw new ApiError("not_found", "This workspace has no key to revoke.");
      return json({ revoked: { fingerprint: revoked.fingerprint, revokedAt: revoked.revokedAt?.toISOString() ?? null } } satisfies KeyRevoked);
    },
    { role: "owner" },
  ),
});
