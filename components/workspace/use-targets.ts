"use client";
// The workspace's compute targets, polled: ports change on every boot and liveness
// comes and goes. A failed poll (offline for a moment) keeps the last list.
import { useCallback, useEffect, useState } from "react";
import { apiFetch } from "@/components/api/client";
import type { TargetView, TargetsResponse } from "@/lib/http/contract";

export function useTargets(workspaceId: string, initial: TargetView[], everyMs: number, initialAt = 0) {
  const [targets, setTargets] = useState(initial);
  /** When the list was last asked for (for "seen 5 s ago"). */
  const [checkedAt, setCheckedAt] = useState(initialAt);
  const refresh = useCallback(async () => {
    const r = await apiFetch<TargetsResponse>(`/api/workspaces/${workspaceId}/targets`);
    if (r.ok) setTargets(r.data.targets);
    setCheckedAt(Date.now());
  }, [workspaceId]);
  useEffect(() => {
    const t = setInterval(() => void refresh(), everyMs);
    return () => clearInterval(t);
  }, [refresh, everyMs]);
  return { targets, setTargets, refresh, checkedAt };
}
