// The one access helper every workspace-scoped route handler goes through: who is
// calling (session or API token), are they a member of this workspace, and does
// their role allow this. A workspace you are not in does not exist (404).
import type { Db } from "@/db/client";
import { appDb } from "@/db/client";
import type { Workspace } from "@/db/schema";
import { ApiError } from "@/lib/http/errors";
import { originAllowed } from "@/lib/http/origin";
import { param, type Handler, type HandlerContext } from "@/lib/http/route";
import { membership, type Role } from "@/lib/workspaces/workspaces";
import { principalFrom, type Principal } from "./principal";

export interface UserContext extends HandlerContext {
  db: Db;
  principal: Principal;
  /** The acting user's id, as recorded in audit rows. */
  actor: string;
}

export interface WorkspaceContext extends UserContext {
  workspace: Workspace;
  role: Role;
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

export function assertSameOrigin(req: Request): void {
  if (SAFE.has(req.method)) return;
  if (!originAllowed(req.headers.get("origin"), req.headers.get("host"), req.headers.get("x-forwarded-proto"))) {
    throw new ApiError("forbidden", "Cross-origin requests are not allowed.");
  }
}

async function requirePrincipal(req: Request): Promise<Principal> {
  const principal = await principalFrom(req.headers);
  if (!principal) {
    throw new ApiError("unauthorized", "Sign in, or send an API token as Authorization: Bearer.", undefined, { "WWW-Authenticate": 'Bearer realm="meshia"' });
  }
  return principal;
}

/** Routes for any signed-in caller (not scoped to one workspace). */
export function withUser(handler: (req: Request, ctx: UserContext) => Promise<Response>): Handler {
  return async (req, ctx) => {
    assertSameOrigin(req);
    const principal = await requirePrincipal(req);
    return handler(req, { ...ctx, db: await appDb(), principal, actor: principal.userId });
  };
}

/** Workspace routes: members only; `role: "owner"` for what only owners may do. */
export function withWorkspace(handler: (req: Request, ctx: WorkspaceContext) => Promise<Response>, opts: { role?: Role } = {}): Handler {
  return async (req, ctx) => {
    assertSameOrigin(req);
    const principal = await requirePrincipal(req);
    const db = await appDb();
    const id = param(ctx, "workspaceId");
    const notFound = () => new ApiError("not_found", "No such workspace.");
    // An API token acts only in its own workspace.
    if (principal.tokenWorkspaceId && principal.tokenWorkspaceId !== id) throw notFound();
    const found = await membership(db, id, principal.userId);
    if (!found) throw notFound();
    const { workspace, role } = found;
    if (opts.role === "owner" && role !== "owner") {
      throw new ApiError("forbidden", "Only owners of this workspace can do this.");
    }
    return handler(req, { ...ctx, db, workspace, role, principal, actor: principal.userId });
  };
}
