// The HTTP API's answers, by route: one place that routes type what they return
// with and components read what they receive with. Types only, so client components
// may import it. The views of domain records are defined beside the functions that
// make them and named here, so a component never imports a server module.
import type { TargetView, TargetStatus } from "@/lib/targets/registry";
import type { InstallStep } from "@/lib/targets/install";
import type { KeyView } from "@/lib/keys/store";
import type { MemberView } from "@/lib/workspaces/members";
import type { InvitationView } from "@/lib/workspaces/invitations";
import type { TokenView } from "@/lib/workspaces/tokens";

export type { TargetView, TargetStatus, KeyView, MemberView, InvitationView, TokenView };

/** Every error answer: `{ error: { code, message, details } }`; 400/422 name their fields. */
export interface ApiErrorBody {
  error?: { code?: string; message?: string; details?: { fields?: { field: string; message: string }[]; reason?: string } };
}

/** GET /api/workspaces/{id}/targets */
export interface TargetsResponse {
  targets: TargetView[];
}

/** POST /api/workspaces/{id}/targets (201): the token is shown once, with what to install on the host. */
export interface Registration {
  target: TargetView;
  token: string;
  /** Files by absolute path, plus the script URLs and the install steps. */
  install: Record<string, unknown> & { steps?: InstallStep[] };
}

/** POST /api/workspaces/{id}/terminal/tickets */
export interface TerminalTicket {
  ticket: string;
  sessionId: string;
  /** The socket's path on this origin. */
  path: string;
  expiresAt: string;
}

/** GET /api/workspaces/{id}/members */
export interface MembersResponse {
  members: MemberView[];
}

/** GET /api/workspaces/{id}/tokens */
export interface TokensResponse {
  tokens: TokenView[];
}

/** POST /api/workspaces/{id}/tokens (201): the secret is shown once. */
export type CreatedToken = TokenView & { token: string };

/** GET and POST /api/workspaces/{id}/invitations: each with the link to hand over (null without MESHIA_PUBLIC_URL). */
export type InvitationWithLink = InvitationView & { link: string | null };
export interface InvitationsResponse {
  invitations: InvitationWithLink[];
}

/** DELETE /api/workspaces/{id}/key */
export interface KeyRevoked {
  revoked: { fingerprint: string; revokedAt: string | null };
}

/** GET /api/workspaces and POST (201) */
export interface WorkspaceSummary {
  id: string;
  name: string;
  role: "owner" | "member";
  createdAt: string;
}
export interface WorkspacesResponse {
  workspaces: WorkspaceSummary[];
}

/** POST /api/setup (201) and POST /api/invitations/{id}/accept */
export interface JoinedWorkspace {
  workspaceId: string;
}
