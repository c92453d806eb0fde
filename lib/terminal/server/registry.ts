// The live terminal sessions of this process, by id, and who opened each: a
// session is only ever resumed by the person who opened it. The registry listens
// to the event bus, so a change made through any instance (a member removed, a
// token revoked, a target stopped, removed or rotated) ends the sessions it holds.
import { defaultBus, type EventBus, type MeshiaEvent } from "@/lib/events";
import { processGlobal } from "@/lib/global";
import { metrics } from "@/lib/metrics";
import type { SessionDeps } from "./session-deps";
import { TerminalSession } from "./session";

export const ENDED_MEMBER_REMOVED = "You are no longer a member of this workspace.";
export const ENDED_TOKEN_REVOKED = "The API token this terminal was opened with was revoked.";
export const ENDED_TARGET_REMOVED = "This compute target was removed from the workspace.";
export const ENDED_BRIDGE_ROTATED = "The target's bridge credential was rotated; open a new terminal.";

export interface RegistryEntry {
  session: TerminalSession;
  userId: string | null;
  /** The API token the session was opened through, if any. */
  tokenId: string | null;
}
type Entry = RegistryEntry;

/** Told when a session is added or gone for good (lib/cluster records which instance holds it). */
export interface RegistryListener {
  added(entry: RegistryEntry): void;
  removed(entry: RegistryEntry): void;
}

export class SessionRegistry {
  private readonly sessions = new Map<string, Entry>();
  private readonly listeners = new Set<RegistryListener>();

  listen(listener: RegistryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  entries(): RegistryEntry[] {
    return [...this.sessions.values()];
  }

  /** Whether this registry keeps the process-wide gauge (the app's one does; tests' extra ones do not). */
  constructor(private readonly reportsMetrics = true) {}

  create(
    id: string,
    workspaceId: string,
    targetId: string,
    userId: string | null,
    deps: Omit<SessionDeps, "onDisposed">,
    tokenId: string | null = null,
  ): TerminalSession {
    const session = new TerminalSession(id, workspaceId, targetId, {
      ...deps,
      onDisposed: () => {
        const entry = this.sessions.get(id);
        if (entry?.session === session) {
          this.sessions.delete(id);
          for (const l of this.listeners) l.removed(entry);
        }
        this.report();
      },
    });
    const entry = { session, userId, tokenId };
    this.sessions.set(id, entry);
    this.report();
    for (const l of this.listeners) l.added(entry);
    return session;
  }

  private report(): void {
    if (this.reportsMetrics) metrics().sessionsOpen.set(this.sessions.size);
  }

  get(id: string): TerminalSession | undefined {
    return this.sessions.get(id)?.session;
  }

  /** The session, if it exists in this workspace and belongs to this user. */
  ownedBy(id: string, workspaceId: string, userId: string | null): TerminalSession | undefined {
    const entry = this.sessions.get(id);
    if (!entry || entry.session.workspaceId !== workspaceId || entry.userId !== userId) return undefined;
    return entry.session;
  }

  forTarget(targetId: string): TerminalSession[] {
    return [...this.sessions.values()].filter((e) => e.session.targetId === targetId).map((e) => e.session);
  }

  /** Sessions a person has here that are not over (live, connecting, or waiting for their socket). */
  countForUser(userId: string): number {
    let n = 0;
    for (const e of this.sessions.values()) if (e.userId === userId && !e.session.ended) n++;
    return n;
  }

  /** Ends a user's sessions in a workspace (they were removed from it). */
  endForUser(workspaceId: string, userId: string, reason: string): void {
    for (const e of [...this.sessions.values()]) {
      if (e.session.workspaceId === workspaceId && e.userId === userId) e.session.close(reason);
    }
  }

  /** What an event means for the sessions held here. */
  handle(event: MeshiaEvent): void {
    switch (event.type) {
      case "member.removed":
        this.endForUser(event.workspaceId, event.userId, ENDED_MEMBER_REMOVED);
        break;
      case "token.revoked": {
        const ids = new Set(event.tokenIds);
        for (const e of [...this.sessions.values()]) {
          if (e.tokenId && ids.has(e.tokenId) && e.session.workspaceId === event.workspaceId) e.session.close(ENDED_TOKEN_REVOKED);
        }
        break;
      }
      case "target.stopped":
        for (const s of this.forTarget(event.targetId)) s.computeStopped(event.detail);
        break;
      case "target.removed":
        for (const s of this.forTarget(event.targetId)) s.computeStopped(ENDED_TARGET_REMOVED);
        break;
      case "target.bridge-rotated":
        for (const s of this.forTarget(event.targetId)) s.close(ENDED_BRIDGE_ROTATED);
        break;
      case "terminal-session.close":
        // Its tab was closed through another instance.
        this.ownedBy(event.sessionId, event.workspaceId, event.userId)?.close(event.reason);
        break;
      default:
        break;
    }
  }

  /** Reacts to `bus`'s events from now on; returns the unsubscribe. */
  listenTo(bus: EventBus): () => void {
    return bus.subscribe((e) => this.handle(e));
  }

  get size(): number {
    return this.sessions.size;
  }

  async closeAll(reason: string): Promise<void> {
    for (const e of [...this.sessions.values()]) e.session.close(reason);
  }
}

const registry = processGlobal("sessions", () => {
  const r = new SessionRegistry();
  r.listenTo(defaultBus());
  return r;
});

export function sessionRegistry(): SessionRegistry {
  return registry.get();
}
