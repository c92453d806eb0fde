// POST /api/workspaces/{workspaceId}/targets/{targetId}/connection-test – the control plane connects to the target's public address and port as ssh would: reachable, pinned host key, latency (members; rate-limited).
import { withWorkspace } from "@/lib/auth/access";
import { config } from "@/lib/config";
import { testConnection } from "@/lib/connect/connection-test";
import { connectableTarget } from "@/lib/connect/target-connect";
import { limit, rateLimiter } from "@/lib/http/rate-limit";
import { defineRoute, json, param } from "@/lib/http/route";
import { logger } from "@/lib/log";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  POST: withWorkspace(async (_req, ctx) => {
    const target = await connectableTarget(ctx.db, ctx.workspace.id, param(ctx, "targetId"));
    await limit(rateLimiter("connection-test", config().auth.connectionTestRate), ctx.actor, "connection tests", ctx.db);
    return json(await testConnection(target, logger().child({ requestId: ctx.requestId, workspaceId: ctx.workspace.id })));
  }),
});
