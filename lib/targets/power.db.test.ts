// Stop and Start of the embedded target asked by an instance that does not run it: two
// event buses LISTENing on one Postgres stand for two instances (the asking one and
// the leader, which holds the election's lock and runs a real LocalCompute). The
// routes on two real server processes: e2e/cluster.spec.ts.
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "@/db/testing";
import { EventBus } from "@/lib/events";
import { ApiError } from "@/lib/http/errors";
import { LeaderElection, leaderPresent } from "@/lib/leader";
import { ensureDefaultWorkspace } from "@/lib/workspaces/workspaces";
import { LocalCompute } from "./local/lifecycle";
import { askTheLeader, EMBEDDED_TARGET_LEADER, embeddedTargets, serveRemotePowerRequests } from "./power";
import { findTarget, registerTarget } from "./registry";

const log = pino({ level: "silent" });
const root = mkdtempSync(path.join(os.tmpdir(), "meshia-power-"));
chmodSync(root, 0o711);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(testDatabases())("embedded target power across instances on $name", (tdb) => {
  // Several instances exist only on Postgres; on PGlite the one process runs the target.
  const shared = tdb.name === "postgres";
  let handle: Awaited<ReturnType<typeof tdb.open>>;
  let leaderBus: EventBus;
  let otherBus: EventBus;
  let election: LeaderElection;
  let compute: LocalCompute;
  let workspaceId: string;
  let targetId: string;
  const stops: (() => Promise<void>)[] = [];
  let unserve = () => undefined as void;

  beforeAll(async () => {
    handle = await tdb.open();
    if (!shared) return;
    workspaceId = (await ensureDefaultWorkspace(handle.db)).id;
    const { target } = await registerTarget(handle.db, { workspaceId, name: "local", kind: "local", host: "127.0.0.1" });
    targetId = target.id;
    const dataDir = path.join(root, "data");
    mkdirSync(dataDir, { mode: 0o700 });
    compute = new LocalCompute({
      db: handle.db,
      row: target,
      log,
      dataDir,
      volumesDir: path.join(root, "volumes"),
      listenHost: "127.0.0.1",
      publicHost: "127.0.0.1",
      ports: { from: 26600, to: 26649 },
      liveWindowMs: 60_000,
    });
    leaderBus = new EventBus();
    otherBus = new EventBus();
    stops.push(await leaderBus.listen(handle.url!, log), await otherBus.listen(handle.url!, log));
    election = new LeaderElection({
      url: handle.url,
      name: EMBEDDED_TARGET_LEADER,
      log,
      onElected: () => compute.start().then(() => undefined),
      onDeposed: () => compute.retire().then(() => undefined),
    });
    await election.start();
    embeddedTargets.get().set(targetId, compute);
    unserve = serveRemotePowerRequests(handle.db, log, leaderBus);
  });
  afterAll(async () => {
    unserve();
    if (targetId) embeddedTargets.get().delete(targetId);
    await election?.stop();
    for (const s of stops) await s();
    await handle?.dispose();
  });

  const ask = (action: "stop" | "start", over: Partial<Parameters<typeof askTheLeader>[2]> = {}, timeoutMs?: number) =>
    askTheLeader(handle.db, otherBus, { targetId, workspaceId, action, actor: "someone", ...over }, timeoutMs);

  it.runIf(shared)("stop and start asked by another instance are done by the leader, and answered once done", async () => {
    expect(await leaderPresent(handle.db, EMBEDDED_TARGET_LEADER)).toBe(true);
    const first = (await findTarget(handle.db, targetId))!;
    expect(first.status).toBe("live");

    await ask("stop");
    // Answered after the fact: the row already says so when the asking route reads it.
    expect(compute.state).toBe("stopped");
    expect((await findTarget(handle.db, targetId))!.status).toBe("stopped");

    await ask("start");
    expect(compute.state).toBe("running");
    const second = (await findTarget(handle.db, targetId))!;
    expect(second.status).toBe("live");
    expect(second.bootId).not.toBe(first.bootId);
    expect(second.port).not.toBe(first.port);
  });

  it.runIf(shared)("503 when the leader does not answer in time (it does not run that target)", async () => {
    const err = await ask("stop", { targetId: randomUUID() }, 500).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(503);
    expect((err as ApiError).headers?.["Retry-After"]).toBeDefined();
    expect(compute.state).toBe("running");
  });

  it("409 on a single process: its events stay in it, nobody else could run the target", async () => {
    const alone = await askTheLeader(handle.db, new EventBus(), { targetId: randomUUID(), workspaceId: randomUUID(), action: "stop", actor: "someone" }).catch(
      (e: unknown) => e,
    );
    expect((alone as ApiError).status).toBe(409);
    expect((alone as ApiError).message).toMatch(/MESHIA_LOCAL_TARGET is off/);
  });

  it.runIf(shared)("409 when no instance leads; a retired compute boots nothing", async () => {
    await election.stop(); // the leader goes: its compute retires, the lock is released
    expect(await leaderPresent(handle.db, EMBEDDED_TARGET_LEADER)).toBe(false);
    expect(compute.state).toBe("stopped");
    const none = await ask("start").catch((e: unknown) => e);
    expect((none as ApiError).status).toBe(409);
    expect((none as ApiError).message).toMatch(/No server runs the embedded target/);
    // Retired: even a start that reaches it boots nothing (another instance may run it now).
    expect(await compute.start()).toBe("stopped");
  });
});
