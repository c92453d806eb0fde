// /api/auth/* – better-auth: sign in, sign out, the current session (see lib/auth/auth.ts).
import { auth } from "@/lib/auth/auth";

// Created lazily: `next build` imports route modules, and building must not open the database.
async function handle(req: Request): Promise<Response> {
  return (await auth()).handler(req);
}

export const GET = handle;
export const POST = handle;
