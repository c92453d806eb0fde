// The live terminal sessions of this process, by id.
import { singleton } from "@/lib/global";
import { TerminalSession, type SessionDeps } from "./session";

export class SessionRegistry {
  private readonly sessions = new Map<string, TerminalSession>();

  create(id: string, workspaceId: string, targetId: string, deps: Omit<SessionDeps, "onDisposed">): TerminalSession {
    const session = new TerminalSession(id, workspaceId, targetId, {
      ...deps,
      onDisposed: () => {
        if (this.sessions.get(id) === session) this.sessions.delete(id);
      },
    });
    this.sessions.set(id, session);
    return session;
  }

  get(id: string): TerminalSession | undefined {
    return this.sessions.get(id);
  }

  forTarget(targetId: string): TerminalSession[] {
    return [...this.sessions.values()].filter((s) => s.targetId === targetId);
  }

  get size(): number {
    return this.sessions.size;
  }

  async closeAll(reason: string): Promise<void> {
    for (const s of [...this.sessions.values()]) s.close(reason);
  }
}

export function sessionRegistry(): SessionRegistry {
  return singleton("sessions", () => new SessionRegistry());
}
