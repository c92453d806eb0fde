import { describe, expect, it } from "vitest";
import { TicketStore } from "./tickets";

const binding = { workspaceId: "w", targetId: "t", sessionId: "s", isNew: true, actor: null, via: "session" as const, tokenId: null };

describe("terminal tickets", () => {
  it("work once", () => {
    const store = new TicketStore();
    const { ticket } = store.issue(binding, 30_000);
    expect(store.consume(ticket)).toEqual(binding);
    expect(store.consume(ticket)).toBeNull();
  });

  it("expire", () => {
    const store = new TicketStore();
    const now = Date.now();
    const { ticket } = store.issue(binding, 30_000, now);
    expect(store.consume(ticket, now + 30_001)).toBeNull();
  });

  it("are unguessable and refuse nonsense", () => {
    const store = new TicketStore();
    const a = store.issue(binding, 1000).ticket;
    const b = store.issue(binding, 1000).ticket;
    expect(a).not.toBe(b);
    expect(a.length).toBeGreaterThanOrEqual(32);
    expect(store.consume("")).toBeNull();
    expect(store.consume(null)).toBeNull();
    expect(store.consume("x".repeat(32))).toBeNull();
  });
});
