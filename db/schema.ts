// The one source of table types. Migrations in db/migrations are generated from this file.
// Accounts, sessions, workspaces (better-auth "organizations"), members, invitations
// and API tokens are better-auth's tables, generated into auth-schema.ts; the tables
// below are Meshia's own and hang off the organization (workspace) id.
import { sql } from "drizzle-orm";
import { bigint, boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid, varchar } from "drizzle-orm/pg-core";
import { organization, user } from "./auth-schema";

export * from "./auth-schema";

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const workspaceRef = () => uuid("workspace_id").references(() => organization.id, { onDelete: "cascade" });

// A workspace has at most one current key (revoked_at IS NULL); earlier keys stay
// as revoked rows for the audit trail. Only public material is ever stored.
export const workspaceKeys = pgTable(
  "workspace_keys",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: workspaceRef().notNull(),
    publicKey: text("public_key").notNull(),
    fingerprint: text("fingerprint").notNull(),
    algorithm: text("algorithm").notNull(),
    savedAt: timestamp("saved_at", { withTimezone: true }).notNull().defaultNow(),
    savedBy: text("saved_by"),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    revokedBy: text("revoked_by"),
  },
  (t) => [
    uniqueIndex("workspace_keys_one_current")
      .on(t.workspaceId)
      .where(sql`${t.revokedAt} IS NULL`),
    index("workspace_keys_workspace").on(t.workspaceId, t.savedAt),
  ],
);

export const targetKinds = ["local", "openssh"] as const;
export type TargetKind = (typeof targetKinds)[number];

export const computeTargets = pgTable(
  "compute_targets",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: workspaceRef().notNull(),
    name: text("name").notNull(),
    kind: text("kind", { enum: targetKinds }).notNull(),
    // Public address people and the bridge connect to; the port is this boot's.
    host: text("host").notNull(),
    port: integer("port"),
    bootId: text("boot_id"),
    bootedAt: timestamp("booted_at", { withTimezone: true }),
    // Pinned host keys (OpenSSH public-key lines, one per line) and the SHA256
    // fingerprint of the one an OpenSSH client checks first (ed25519 when present).
    hostKeys: text("host_keys"),
    hostKeyFingerprint: text("host_key_fingerprint"),
    // "pending" until the first boot report, "live" while heartbeats arrive, "stopped" when it says so;
    // "unavailable" when it cannot run shells safely (the embedded target without a sandbox), with why and the fix.
    status: text("status", { enum: ["pending", "live", "stopped", "unavailable"] })
      .notNull()
      .default("pending"),
    unavailableReason: text("unavailable_reason"),
    unavailableFix: text("unavailable_fix"),
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true }),
    tokenHash: text("token_hash"),
    // The bridge logs in with a key derived from the control plane's secret, this
    // target's id and this generation (lib/ssh/bridge-credential.ts); bumping it
    // rotates the credential. Nothing private is stored.
    bridgeGeneration: integer("bridge_generation").notNull().default(1),
    createdAt: createdAt(),
  },
  (t) => [index("compute_targets_workspace").on(t.workspaceId)],
);

export const terminalSessions = pgTable(
  "terminal_sessions",
  {
    id: uuid("id").primaryKey(),
    workspaceId: workspaceRef().notNull(),
    targetId: uuid("target_id").notNull(),
    openedBy: text("opened_by"),
    openedAt: timestamp("opened_at", { withTimezone: true }).notNull().defaultNow(),
    closedAt: timestamp("closed_at", { withTimezone: true }),
    exitCode: integer("exit_code"),
    exitSignal: text("exit_signal"),
    closeReason: text("close_reason"),
    bytesIn: bigint("bytes_in", { mode: "number" }).notNull().default(0),
    bytesOut: bigint("bytes_out", { mode: "number" }).notNull().default(0),
  },
  (t) => [index("terminal_sessions_workspace").on(t.workspaceId, t.openedAt)],
);

// Control-plane instances sharing this Postgres (none on PGlite): each writes its
// heartbeat here; an instance whose heartbeat is older than the dead-after window is
// gone, and so are the terminal sessions it held (lib/terminal/cluster/instances.ts).
export const controlPlaneInstances = pgTable("control_plane_instances", {
  id: uuid("id").primaryKey(),
  /** Where the other instances reach this one (MESHIA_INSTANCE_URL or derived). */
  internalUrl: text("internal_url").notNull(),
  startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
  heartbeatAt: timestamp("heartbeat_at", { withTimezone: true }).notNull().defaultNow(),
});

// Which instance holds each live terminal session (its SSH connection): a socket that
// lands on another instance is proxied there. One row per live session, removed when
// the session is gone (the audit record is terminal_sessions, which stays).
export const terminalSessionOwners = pgTable(
  "terminal_session_owners",
  {
    sessionId: uuid("session_id").primaryKey(),
    instanceId: uuid("instance_id")
      .notNull()
      .references(() => controlPlaneInstances.id, { onDelete: "cascade" }),
    /** The owner's internal URL when the session opened (a copy: the instance row may be gone). */
    instanceUrl: text("instance_url").notNull(),
    userId: text("user_id"),
    workspaceId: workspaceRef().notNull(),
    targetId: uuid("target_id").notNull(),
    openedAt: timestamp("opened_at", { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("terminal_session_owners_instance").on(t.instanceId)],
);

// SSH access from people's own terminals: every login attempt on the embedded target
// (source address, key fingerprint, result) and every key lookup an OpenSSH
// target's sshd makes (with the client address and key fingerprint sshd passes,
// when its drop-in passes them). Everyone in a workspace shares one key, so this is
// what tells who connected from where. Written in batches (lib/targets/ssh-access-log.ts).
export const sshAccess = pgTable(
  "ssh_access",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: workspaceRef().notNull(),
    targetId: uuid("target_id").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    kind: text("kind", { enum: ["login", "key-lookup"] }).notNull(),
    /** The SSH client's address (and port), when known. */
    source: text("source"),
    user: text("user").notNull(),
    fingerprint: text("fingerprint"),
    /** login: accepted | refused; key-lookup: served (keys offered) | none (not live, or not mesh). */
    result: text("result").notNull(),
    /** How many more events like this one were folded into this row (a flood is summarised, not stored row by row). */
    more: integer("more").notNull().default(0),
  },
  (t) => [index("ssh_access_workspace").on(t.workspaceId, t.at)],
);

// Single-use tickets for opening a terminal socket (lib/terminal/server/tickets.ts). Held
// here, not in one process's memory, so a ticket issued by one instance opens the
// socket on another, exactly once. Only a hash of the ticket is stored.
export const terminalTickets = pgTable(
  "terminal_tickets",
  {
    ticketHash: text("ticket_hash").primaryKey(),
    workspaceId: workspaceRef().notNull(),
    targetId: uuid("target_id")
      .notNull()
      .references(() => computeTargets.id, { onDelete: "cascade" }),
    sessionId: uuid("session_id").notNull(),
    isNew: boolean("is_new").notNull(),
    /** Who asked for it; the socket must come from the same principal. */
    userId: uuid("user_id").references(() => user.id, { onDelete: "cascade" }),
    via: text("via", { enum: ["session", "token"] }).notNull(),
    tokenId: text("token_id"),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("terminal_tickets_user").on(t.userId, t.expiresAt), index("terminal_tickets_expires").on(t.expiresAt)],
);

// rate-limiter-flexible's RateLimiterPostgres table (lib/http/rate-limit.ts), shaped
// exactly as that library creates it (key, points, expire in epoch ms), but created
// by our migrations so the app never runs DDL at request time. Keys carry the limiter's
// prefix, so every limiter shares this one table.
export const rateLimits = pgTable(
  "rate_limits",
  {
    key: varchar("key", { length: 255 }).primaryKey(),
    points: integer("points").notNull().default(0),
    expire: bigint("expire", { mode: "number" }),
  },
  (t) => [index("rate_limits_expire").on(t.expire)],
);

export const auditEvents = pgTable(
  "audit_events",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: workspaceRef(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    actor: text("actor"),
    action: text("action").notNull(),
    detail: jsonb("detail").$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index("audit_events_workspace").on(t.workspaceId, t.at)],
);

/** A workspace is a better-auth organization. */
export type Workspace = typeof organization.$inferSelect;
export type WorkspaceKey = typeof workspaceKeys.$inferSelect;
export type ComputeTarget = typeof computeTargets.$inferSelect;
export type TerminalSession = typeof terminalSessions.$inferSelect;
export type ControlPlaneInstance = typeof controlPlaneInstances.$inferSelect;
export type TerminalSessionOwner = typeof terminalSessionOwners.$inferSelect;
export type AuditEvent = typeof auditEvents.$inferSelect;
export type SshAccess = typeof sshAccess.$inferSelect;
export type TerminalTicket = typeof terminalTickets.$inferSelect;
