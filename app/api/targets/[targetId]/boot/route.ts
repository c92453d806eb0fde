// POST /api/targets/{targetId}/boot – a target reports its boot (boot id, this boot's
// public port, its host keys). Repeating the same report is a heartbeat; other host
// keys within the same boot are refused (409) and audited.
import { defineRoute, json, readJson } from "@/lib/http/route";
import { recordBoot, targetView } from "@/lib/targets/registry";
import { withTargetToken } from "@/lib/targets/target-auth";
import { bootReportBody } from "@/lib/targets/validate";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  POST: withTargetToken(async (req, { db, target }) => json(targetView(await recordBoot(db, target, await readJson(req, bootReportBody))))),
});
