// The one access helper every workspace-scoped route handler goes through. Today the
// app has no accounts; when it does, membership and roles are checked here.
import type { Db } from "@/db/client";
import { db as openDb } from "@/db/client";
import type { Workspace } from "@/db/schema";
import { ApiError } from "@/lib/http/errors";
import { originAllowed } from "@/lib/http/origin";
import { param, type Handler, type HandlerContext } from "@/lib/http/route";
import { findWorkspace } from "@/lib/workspaces";

export interface WorkspaceContext extends HandlerContext {
  db: Db;
  workspace: Workspace;
  /** Who acts; null until accounts exist. */
  actor: string | null;
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

export function assertSameOrigin(req: Request): void {
  if (SAFE.has(req.method)) return;
  if (!originAllowed(req.headers.get("origin"), req.headers.get("host"), req.headers.get("x-forwarded-proto"))) {
    throw new ApiError("forbidden", "Cross-origin requests are not allowed.");
  }
}

export function withWorkspace(handler: (req: Request, ctx: WorkspaceContext) => Promise<Response>): Handler {
  return async (req, ctx) => {
    assertSameOrigin(req);
    const db = await openDb();
    const id = param(ctx, "workspaceId");
    const workspace = await findWorkspace(db, id);
    // Unknown and malformed ids look the same from outside: leak nothing.
    if (!workspace) throw new ApiError("not_found", "No such workspace.");
    return handler(req, { ...ctx, db, workspace, actor: null });
  };
}
