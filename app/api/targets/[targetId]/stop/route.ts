// POST /api/targets/{targetId}/stop – the target is shutting down: it stops being
// live compute at once and its terminal sessions end with "compute stopped".
import { ApiError } from "@/lib/http/errors";
import { defineRoute, readJson } from "@/lib/http/route";
import { markStopped } from "@/lib/targets/registry";
import { withTargetToken } from "@/lib/targets/target-auth";
import { bootRefBody } from "@/lib/targets/validate";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  POST: withTargetToken(async (req, { db, target }) => {
    const { bootId } = await readJson(req, bootRefBody);
    if (target.bootId !== bootId) throw new ApiError("conflict", "Unknown boot: nothing to stop.", { reason: "unknown_boot" });
    if (target.status !== "stopped") await markStopped(db, target);
    return new Response(null, { status: 204 });
  }),
});
