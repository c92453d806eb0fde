// POST /api/targets/{targetId}/heartbeat – "still running this boot". 409 when the
// boot id is not the current one: the target must report its boot first.
import { ApiError } from "@/lib/http/errors";
import { defineRoute, readJson } from "@/lib/http/route";
import { heartbeat } from "@/lib/targets/registry";
import { withTargetToken } from "@/lib/targets/target-auth";
import { bootRefBody } from "@/lib/targets/validate";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  POST: withTargetToken(async (req, { db, target }) => {
    const { bootId } = await readJson(req, bootRefBody);
    if (target.bootId !== bootId || target.status === "stopped") {
      throw new ApiError("conflict", "Unknown boot: report the boot first (POST …/boot).", { reason: "unknown_boot" });
    }
    await heartbeat(db, target.id);
    return new Response(null, { status: 204 });
  }),
});
