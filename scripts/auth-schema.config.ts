// Config for better-auth's schema generator (scripts/generate-auth-schema.sh): the
// same plugins as the app, on a database handle that is never connected.
import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { drizzle } from "drizzle-orm/node-postgres";
import { authPlugins, authShape } from "../lib/auth/options";

export const auth = betterAuth({
  ...authShape,
  database: drizzleAdapter(drizzle.mock(), { provider: "pg" }),
  plugins: authPlugins(),
});
