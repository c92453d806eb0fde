// The better-auth options that shape the database (plugins, id generation). Shared
// by the running app (lib/auth/auth.ts) and the schema generator
// (scripts/auth-schema.config.ts), so db/auth-schema.ts always matches what runs.
import { apiKey } from "@better-auth/api-key";
import { organization } from "better-auth/plugins";

export const API_TOKEN_PREFIX = "mshk_";

/** better-auth paths a browser may reach; everything else is server-side only. */
export const HTTP_AUTH_PATHS = ["/sign-in/email", "/sign-out", "/change-password", "/get-session", "/ok", "/error"] as const;
export type HttpAuthPath = (typeof HTTP_AUTH_PATHS)[number];

export const authShape = {
  advanced: { database: { generateId: "uuid" as const } },
  emailAndPassword: { enabled: true, minPasswordLength: 10, maxPasswordLength: 256 },
};

export function authPlugins() {
  return [
    // Workspaces are organizations: membership, invitations, owner/member roles.
    organization({
      allowUserToCreateOrganization: false,
      creatorRole: "owner",
      invitationExpiresIn: 7 * 24 * 3600,
      cancelPendingInvitationsOnReInvite: true,
    }),
    // API tokens for scripts. Each token belongs to a user and names one workspace
    // in its metadata; lib/auth/access.ts enforces that scope and the user's role.
    apiKey({
      defaultPrefix: API_TOKEN_PREFIX,
      enableMetadata: true,
      requireName: true,
      maximumNameLength: 64,
      // Our own limits apply per route; better-auth's default is 10 requests a day.
      rateLimit: { enabled: false },
      keyExpiration: { defaultExpiresIn: null },
    }),
  ];
}
