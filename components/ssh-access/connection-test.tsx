"use client";
// "Test connection": the control plane connects to the target as ssh would, so a
// user can tell whether the fault is their own network or the target.
import { useState } from "react";
import type { ConnectionTestResult } from "@/lib/connect/connection-test";
import { apiFetch } from "@/components/api/client";

type State = { kind: "idle" } | { kind: "testing" } | { kind: "done"; result: ConnectionTestResult } | { kind: "error"; message: string };

export function ConnectionTest({ workspaceId, targetId }: { workspaceId: string; targetId: string }) {
  const [state, setState] = useState<State>({ kind: "idle" });
  const run = async () => {
    setState({ kind: "testing" });
    const r = await apiFetch<ConnectionTestResult>(`/api/workspaces/${workspaceId}/targets/${targetId}/connection-test`, { method: "POST" });
    setState(r.ok ? { kind: "done", result: r.data } : { kind: "error", message: r.message });
  };
  return (
    <div className="connection-test">
      <button type="button" className="button" onClick={() => void run()} disabled={state.kind === "testing"}>
        {state.kind === "testing" ? "Testing…" : "Test connection"}
      </button>
      <div aria-live="polite" data-testid="connection-test-result" className="small">
        {state.kind === "done" && state.result.reachable && (
          <p className="ok-text">
            {state.result.message} If your own ssh still fails, the problem is between your machine and the target (your network, a firewall, a VPN).
          </p>
        )}
        {state.kind === "done" && !state.result.reachable && (
          <p className="error">{state.result.message} Ask the workspace owner to check that the target is running.</p>
        )}
        {state.kind === "error" && <p className="error">{state.message}</p>}
      </div>
    </div>
  );
}
