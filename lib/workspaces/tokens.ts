// API tokens for scripts: `Authorization: Bearer mshk_…`. A token belongs to its
// creator and names one workspace; it acts there with its creator's current role
// and stops working when revoked or when its creator leaves the workspace.
import { and, desc, eq } from "drizzle-orm";
import type { Db } from "@/db/client";
import { apikey } from "@/db/schema";
import { audit } from "@/lib/audit";
import { publish } from "@/lib/events";
import { ApiError } from "@/lib/http/errors";
import { isUuid } from "@/lib/util/uuid";

export interface TokenView {
  id: string;
  name: string;
  /** The first characters, to recognise it. */
  start: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

/** What creating a token needs of the accounts system (lib/auth/auth.ts's instance is one). */
export interface ApiKeyIssuer {
  api: {
    createApiKey(req: { body: { name: string; userId: string; metadata: { workspaceId: string } } }): Promise<{
      id: string;
      name: string | null;
      start: string | null;
      createdAt: Date;
      key: string;
    }>;
  };
}

export async function createToken(
  db: Db,
  auth: ApiKeyIssuer,
  input: { userId: string; workspaceId: string; name: string },
): Promise<TokenView & { token: string }> {
  const created = await auth.api.createApiKey({ body: { name: input.name, userId: input.userId, metadata: { workspaceId: input.workspaceId } } });
  await audit(db, { workspaceId: input.workspaceId, actor: input.userId, action: "token.created", detail: { tokenId: created.id, name: input.name } });
  return {
    id: created.id,
    name: created.name ?? input.name,
    start: created.start ?? null,
    createdAt: new Date(created.createdAt).toISOString(),
    lastUsedAt: null,
    token: created.key,
  };
}

export async function listTokens(db: Db, userId: string, workspaceId: string): Promise<TokenView[]> {
  const rows = await db.select().from(apikey).where(eq(apikey.referenceId, userId)).orderBy(desc(apikey.createdAt));
  return rows
    .filter((r) => tokenWorkspace(r.metadata) === workspaceId)
    .map((r) => ({ id: r.id, name: r.name ?? "", start: r.start, createdAt: r.createdAt.toISOString(), lastUsedAt: r.lastRequest?.toISOString() ?? null }));
}

export async function revokeToken(db: Db, input: { userId: string; workspaceId: string; tokenId: string }): Promise<void> {
  if (!isUuid(input.tokenId)) throw new ApiError("not_found", "No such token.");
  const [row] = await db
    .select()
    .from(apikey)
    .where(and(eq(apikey.id, input.tokenId), eq(apikey.referenceId, input.userId)))
    .limit(1);
  if (!row || tokenWorkspace(row.metadata) !== input.workspaceId) throw new ApiError("not_found", "No such token.");
  await db.delete(apikey).where(eq(apikey.id, row.id));
  await audit(db, { workspaceId: input.workspaceId, actor: input.userId, action: "token.revoked", detail: { tokenId: row.id, name: row.name } });
  // Terminals opened through it end, on every instance.
  await publish(db, { type: "token.revoked", workspaceId: input.workspaceId, tokenIds: [row.id] });
}

/** The workspace an API token is scoped to (kept in its metadata), or null. */
export function tokenWorkspace(metadata: string | null): string | null {
  try {
    const m = JSON.parse(metadata ?? "null") as { workspaceId?: unknown } | null;
    return typeof m?.workspaceId === "string" ? m.workspaceId : null;
  } catch {
    return null;
  }
}
