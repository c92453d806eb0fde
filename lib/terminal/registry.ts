// The live terminal sessions of this process, by id, and who opened each: a
// session is only ever resumed by the person who opened it.
import { singleton } from "@/lib/global";
import { metrics } from "@/lib/metrics";
import { TerminalSession, type SessionDeps } from "./session";

export interface RegistryEntry {
  session: TerminalSession;
  userId: string | null;
}

/** Told when a session is added or gone for good (lib/cluster records which instance holds it). */
export interface RegistryListener {
  added(entry: RegistryEntry): void;
  removed(entry: RegistryEntry): void;
}

export class SessionRegistry {
  private readonly sessions = new Map<string, RegistryEntry>();
  private readonly listeners = new Set<RegistryListener>();

  listen(listener: RegistryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  entries(): RegistryEntry[] {
    return [...this.sessions.values()];
  }

  create(id: string, workspaceId: string, targetId: string, userId: string | null, deps: Omit<SessionDeps, "onDisposed">): TerminalSession {
    const session = new TerminalSession(id, workspaceId, targetId, {
      ...deps,
      onDisposed: () => {
        const entry = this.sessions.get(id);
        if (entry?.session === session) {
          this.sessions.delete(id);
          for (const l of this.listeners) l.removed(entry);
        }
        metrics().sessionsOpen.set(this.sessions.size);
      },
    });
    const entry = { session, userId };
    this.sessions.set(id, entry);
    metrics().sessionsOpen.set(this.sessions.size);
    for (const l of this.listeners) l.added(entry);
    return session;
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

  /** Ends a user's sessions in a workspace (they were removed from it). */
  endForUser(workspaceId: string, userId: string, reason: string): void {
    for (const e of [...this.sessions.values()]) {
      if (e.session.workspaceId === workspaceId && e.userId === userId) e.session.close(reason);
    }
  }

  get size(): number {
    return this.sessions.size;
  }

  async closeAll(reason: string): Promise<void> {
    for (const e of [...this.sessions.values()]) e.session.close(reason);
  }
}

export function sessionRegistry(): SessionRegistry {
  return singleton("sessions", () => new SessionRegistry());
}
