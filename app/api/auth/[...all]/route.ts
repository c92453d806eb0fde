// /api/auth/* – better-auth: sign in, sign out, the current session, change password
// (see lib/auth/auth.ts), held to the API's contract by lib/auth/http.ts.
import { authHandler } from "@/lib/auth/http";
import { defineRoute } from "@/lib/http/route";

// The auth instance is created lazily inside the handler: `next build` imports route
// modules, and building must not open the database.
export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: authHandler,
  POST: authHandler,
  PUT: authHandler,
  PATCH: authHandler,
  DELETE: authHandler,
});
