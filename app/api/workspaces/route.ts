// /api/workspaces
//   GET  – the workspaces the caller belongs to (an API token sees its own workspace only).
//   POST – create a workspace {name}; the caller becomes its owner.
import { z } from "zod";
import { withUser } from "@/lib/auth/access";
import { ApiError } from "@/lib/http/errors";
import { nameField } from "@/lib/http/names";
import type { WorkspaceSummary, WorkspacesResponse } from "@/lib/http/contract";
import { limit, rateLimiter } from "@/lib/http/rate-limit";
import { config } from "@/lib/config";
import { defineRoute, json, readJson } from "@/lib/http/route";
import { createWorkspace, workspacesOf } from "@/lib/workspaces/workspaces";

const createBody = z.strictObject({
  name: nameField(64),
});

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: withUser(async (_req, { db, principal }) => {
    const rows = (await workspacesOf(db, principal.userId)).filter((w) => !principal.tokenWorkspaceId || w.id === principal.tokenWorkspaceId);
    return json({ workspaces: rows.map((w) => ({ id: w.id, name: w.name, role: w.role, createdAt: w.createdAt.toISOString() })) } satisfies WorkspacesResponse);
  }),

  POST: withUser(async (req, { db, principal }) => {
    if (principal.via === "token") throw new ApiError("forbidden", "API tokens act within one workspace; sign in to create workspaces.");
    const { name } = await readJson(req, createBody);
    await limit(rateLimiter("workspace-create", config().auth.workspaceCreateRate), principal.userId, "new workspaces");
    const w = await createWorkspace(db, { name, ownerId: principal.userId });
    return json({ id: w.id, name: w.name, role: "owner", createdAt: w.createdAt.toISOString() } satisfies WorkspaceSummary, { status: 201 });
  }),
});
