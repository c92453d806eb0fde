// /api/workspaces
//   GET  – the workspaces this caller can use.
//   POST – create a workspace {name}; 201 with the workspace. (Until accounts exist
//          anyone who can reach the API may; the access check belongs here then.)
import { z } from "zod";
import { db } from "@/db/client";
import { assertSameOrigin } from "@/lib/auth/access";
import { defineRoute, json, readJson } from "@/lib/http/route";
import { createWorkspace, listWorkspaces } from "@/lib/workspaces";
import type { Workspace } from "@/db/schema";

const createBody = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1, "name must not be empty")
    .max(64, "name must be at most 64 characters")
    .regex(/^[^\p{Cc}]+$/u, "name must not contain control characters"),
});

function view(w: Workspace) {
  return { id: w.id, name: w.name, createdAt: w.createdAt.toISOString() };
}

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: async () => {
    const rows = await listWorkspaces(await db());
    return json({ workspaces: rows.map(view) });
  },

  POST: async (req) => {
    assertSameOrigin(req);
    const input = await readJson(req, createBody);
    const created = await createWorkspace(await db(), { name: input.name, actor: null });
    return json(view(created), { status: 201, headers: { Location: `/api/workspaces/${created.id}` } });
  },
});
