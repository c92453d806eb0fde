// /api/workspaces/{workspaceId}/tokens – the caller's API tokens for this workspace.
//   GET  – list (never the secret).
//   POST – create {name}: the token is in this response only.
import { z } from "zod";
import { withWorkspace } from "@/lib/auth/access";
import { auth } from "@/lib/auth/auth";
import { createToken, listTokens } from "@/lib/workspaces/tokens";
import { ApiError } from "@/lib/http/errors";
import { nameField } from "@/lib/http/names";
import type { CreatedToken, TokensResponse } from "@/lib/http/contract";
import { defineRoute, json, readJson } from "@/lib/http/route";

const body = z.strictObject({ name: nameField(64) });

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: withWorkspace(async (_req, { db, workspace, principal }) =>
    json({ tokens: await listTokens(db, principal.userId, workspace.id) } satisfies TokensResponse),
  ),
  POST: withWorkspace(async (req, { db, workspace, principal }) => {
    if (principal.via === "token") throw new ApiError("forbidden", "Sign in to create API tokens.");
    const { name } = await readJson(req, body);
    return json((await createToken(db, await auth(), { userId: principal.userId, workspaceId: workspace.id, name })) satisfies CreatedToken, { status: 201 });
  }),
});
