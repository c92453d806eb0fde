// Asking the API for a terminal ticket: the ticket, or the final status a refusal
// means. Network failures and 5xx answers throw: the connection retries those.
import type { ApiErrorBody, TerminalTicket } from "@/lib/http/contract";
import type { ConnectionStatus } from "./status";

export async function requestTicket(
  workspaceId: string,
  targetId: string,
  resumeSessionId: string | null,
): Promise<{ ticket: TerminalTicket } | { refused: ConnectionStatus }> {
  const res = await fetch(`/api/workspaces/${workspaceId}/terminal/tickets`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ targetId, ...(resumeSessionId !== null ? { sessionId: resumeSessionId } : {}) }),
  });
  if (res.ok) return { ticket: (await res.json()) as TerminalTicket };
  const body = (await res.json().catch(() => null)) as ApiErrorBody | null;
  const message = body?.error?.message ?? `HTTP ${res.status}`;
  if (res.status === 404 && resumeSessionId !== null) return { refused: { kind: "expired", detail: message } };
  if (res.status === 429) {
    // Not retried by itself: the person closes a tab (or waits), then tries again.
    const retry = Number(res.headers.get("Retry-After")) || 5;
    return { refused: { kind: "limited", detail: message, retryAt: Date.now() + retry * 1000 } };
  }
  if (res.status >= 400 && res.status < 500) return { refused: { kind: "failed", detail: message } };
  throw new Error(message);
}
