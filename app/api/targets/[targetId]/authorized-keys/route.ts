// GET /api/targets/{targetId}/authorized-keys?user=mesh – what sshd's
// AuthorizedKeysCommand prints: the workspace's current key and this target's bridge key,
// for user mesh on a live target; nothing for anyone or anything else.
import { z } from "zod";
import { config } from "@/lib/config";
import { defineRoute, readQuery } from "@/lib/http/route";
import { authorizedKeys, formatAuthorizedKeys } from "@/lib/targets/authorized-keys";
import { withTargetToken } from "@/lib/targets/target-auth";

const query = z.object({ user: z.string().max(64) });

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: withTargetToken(async (req, { db, target }) => {
    const { user } = readQuery(req, query);
    const keys = await authorizedKeys(db, target, user, { liveWindowMs: config().targetLiveWindowMs });
    return new Response(formatAuthorizedKeys(keys), {
      status: 200,
      headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" },
    });
  }),
});
