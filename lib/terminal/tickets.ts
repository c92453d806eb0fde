// Single-use tickets for opening a terminal socket: issued by a POST route (where
// the workspace and target are checked), consumed by the WebSocket handshake.
import { randomBytes } from "node:crypto";
import { singleton } from "@/lib/global";

export interface TicketBinding {
  workspaceId: string;
  targetId: string;
  sessionId: string;
  /** A new session is created on connect; otherwise an existing one is resumed. */
  isNew: boolean;
  actor: string | null;
  /**
   * How the ticket's requester was signed in: the socket must come from the same
   * principal, a browser session or the very same API token (whose scope is one
   * workspace), not merely from the same user.
   */
  via: "session" | "token";
  tokenId: string | null;
}

interface Entry extends TicketBinding {
  expiresAt: number;
}

export class TicketStore {
  private readonly tickets = new Map<string, Entry>();
  private sweeper: NodeJS.Timeout | null = null;

  issue(binding: TicketBinding, ttlMs: number, now = Date.now()): { ticket: string; expiresAt: number } {
    const ticket = randomBytes(24).toString("base64url");
    const expiresAt = now + ttlMs;
    this.tickets.set(ticket, { ...binding, expiresAt });
    this.sweep(now);
    return { ticket, expiresAt };
  }

  /** Returns the binding once; a second use, an unknown or an expired ticket gets null. */
  consume(ticket: string | null | undefined, now = Date.now()): TicketBinding | null {
    if (!ticket) return null;
    const entry = this.tickets.get(ticket);
    if (!entry) return null;
    this.tickets.delete(ticket);
    if (entry.expiresAt < now) return null;
    const { expiresAt: _, ...binding } = entry;
    return binding;
  }

  private sweep(now: number): void {
    for (const [t, e] of this.tickets) if (e.expiresAt < now) this.tickets.delete(t);
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(Date.now()), 60_000);
      this.sweeper.unref();
    }
  }
}

export function ticketStore(): TicketStore {
  return singleton("tickets", () => new TicketStore());
}
