// GET /api/workspaces – the workspaces this caller can use.
import { db } from "@/db/client";
import { defineRoute, json } from "@/lib/http/route";
import { listWorkspaces } from "@/lib/workspaces";

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: async () => {
    const rows = await listWorkspaces(await db());
    return json({ workspaces: rows.map((w) => ({ id: w.id, name: w.name, createdAt: w.createdAt.toISOString() })) });
  },
});
