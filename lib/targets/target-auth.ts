// Target-facing routes authenticate with the target's own token (Authorization: Bearer).
import { appDb, type Db } from "@/db/client";
import type { ComputeTarget } from "@/db/schema";
import { ApiError } from "@/lib/http/errors";
import { originAllowed } from "@/lib/http/origin";
import { param, type Handler, type HandlerContext } from "@/lib/http/route";
import { isUuid } from "@/lib/util/uuid";
import { findTarget } from "./registry";
import { tokenMatches } from "./target-token";
import { bearerToken } from "@/lib/http/bearer";

export interface TargetContext extends HandlerContext {
  db: Db;
  target: ComputeTarget;
}

export function withTargetToken(handler: (req: Request, ctx: TargetContext) => Promise<Response>): Handler {
  return async (req, ctx) => {
    // Targets call with curl (no Origin). A page on another site has no business here,
    // and every state-changing route refuses cross-origin requests alike.
    if (req.method !== "GET" && !originAllowed(req.headers.get("origin"), req.headers.get("host"), req.headers.get("x-forwarded-proto"))) {
      throw new ApiError("forbidden", "Cross-origin requests are not allowed.");
    }
    const db = await appDb();
    const id = param(ctx, "targetId");
    const target = isUuid(id) ? await findTarget(db, id) : null;
    // An unknown target and a wrong token look the same: nothing to probe.
    if (!target || !tokenMatches(target, bearerToken(req.headers.get("authorization")))) {
      throw new ApiError("unauthorized", "A valid target token is required (Authorization: Bearer …).", undefined, {
        "WWW-Authenticate": 'Bearer realm="meshia-target"',
      });
    }
    return handler(req, { ...ctx, db, target });
  };
}
