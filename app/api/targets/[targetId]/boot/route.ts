// POST /api/targets/{targetId}/boot – a target reports its boot (boot id, this boot's
// public port, its host keys). Repeating the same report is a heartbeat; other host
// keys within the same boot are refused (409) and audited.
import { config } from "@/lib/config";
import { ApiError } from "@/lib/http/errors";
import { defineRoute, json, readJson } from "@/lib/http/route";
import { logger } from "@/lib/log";
import { HostKeyChangedError, recordBoot, targetView } from "@/lib/targets/registry";
import { withTargetToken } from "@/lib/targets/target-auth";
import { bootReportBody } from "@/lib/targets/validate";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  POST: withTargetToken(async (req, { db, target }) => {
    const boot = await readJson(req, bootReportBody);
    try {
      const row = await recordBoot(db, target, boot);
      return json(targetView(row, config().targetLiveWindowMs));
    } catch (err) {
      if (err instanceof HostKeyChangedError) {
        logger().error({ target: target.id, bootId: boot.bootId }, "HOST KEY CHANGED WITHIN A BOOT: refusing the report; the pinned key stays");
        throw new ApiError("conflict", err.message, { reason: "host_key_changed" });
      }
      if (err instanceof Error && err.message === "not an OpenSSH public-key line") {
        throw new ApiError("invalid_field", "hostKeys: each entry must be an OpenSSH public-key line", {
          fields: [{ field: "hostKeys", message: err.message }],
        });
      }
      throw err;
    }
  }),
});
