// GET /api/targets/{targetId}/authorized-keys?user=mesh – what sshd's
// AuthorizedKeysCommand prints: the workspace's current key and this target's bridge
// key, for user mesh on a live target; nothing for anyone or anything else.
// server.ts answers GETs on a lean path before Next (lib/targets/authorized-keys-http.ts);
// this route gives the same answer when Next sees one anyway, and the contract's 405s.
import { appDb } from "@/db/client";
import { config } from "@/lib/config";
import { defineRoute, param } from "@/lib/http/route";
import { logger } from "@/lib/log";
import { answerAuthorizedKeys } from "@/lib/targets/authorized-keys-http";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: async (req, ctx) => {
    const a = await answerAuthorizedKeys(
      {
        targetId: param(ctx, "targetId"),
        url: req.url,
        authorization: req.headers.get("authorization"),
        contentLength: req.headers.get("content-length"),
        clientIp: req.headers.get("x-forwarded-for")?.split(",")[0]?.trim() ?? "",
      },
      { db: await appDb(), failureRate: config().targetAuthFailureRate, log: logger() },
    );
    return new Response(a.body, { status: a.status, headers: a.headers });
  },
});
