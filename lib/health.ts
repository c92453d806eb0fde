// Liveness, readiness and draining, for load balancers and Kubernetes probes.
// /healthz: the process answers. /readyz: the database answers and the instance is
// not draining. On SIGTERM the instance drains: it reports not-ready so no new work
// is routed to it, refuses new terminals, gives open sessions a grace period, then
// ends the rest with a clear status.
import { sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { processGlobal } from "@/lib/global";

interface HealthState {
  draining: boolean;
}

export const healthState = processGlobal<HealthState>("health", () => ({ draining: false }));

function state(): HealthState {
  return healthState.get();
}

export function isDraining(): boolean {
  return state().draining;
}

export function startDraining(): void {
  state().draining = true;
}

export interface Readiness {
  ready: boolean;
  database: "ok" | "unreachable";
  draining: boolean;
}

/** Ready: the database answers within `timeoutMs` and the instance is not draining. */
export async function readiness(db: Db, timeoutMs = 2000): Promise<Readiness> {
  let timer: NodeJS.Timeout | undefined;
  const ping = db.execute(sql`SELECT 1`).then(
    () => true,
    () => false,
  );
  const ok = await Promise.race([ping, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)))]);
  clearTimeout(timer);
  const draining = isDraining();
  return { ready: ok && !draining, database: ok ? "ok" : "unreachable", draining };
}
