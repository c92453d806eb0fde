// One flood of bench:abuse, in a process of its own: the probe (another user, in
// bench/abuse.ts) must not share an event loop with 64 flooding clients, or its
// latency would be the bench's own lag. The HTTP floods use the raw keep-alive client
// (bench/lib/http-load.ts), the cheapest there is, so that the client takes as little
// of the machine's 2 cores from the server as it can; they come from FLOOD_ADDRESS,
// the probe from another loopback address, as two users on two machines would.
//
//   node --import tsx bench/abuse-flood.ts '<FloodSpec as JSON>'
// Prints "FLOODING" once the flood runs, then after spec.seconds "RESULT <FloodResult as JSON>".
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { loadClient } from "./lib/http-load";
import { loops, rememberAuth } from "./lib/server";
import { sleep } from "./lib/stats";
import { BridgeShell } from "./lib/terminal-client";
import { MAX_FRAME_BYTES } from "../lib/terminal/protocol";

// bench/abuse.ts imports only this file's types: importing a value would run the flood.
export type Flood = "input" | "keygen" | "authkeys" | "badtoken";
/** Where the flood comes from (the probe uses another address). */
const FLOOD_ADDRESS = "127.0.0.1";

export interface FloodSpec {
  kind: Flood;
  seconds: number;
  base: string;
  ws: string;
  localTargetId: string;
  target: { id: string; token: string };
  /** The owner's API token headers: the flooding user. */
  auth: Record<string, string>;
}

export interface FloodResult {
  ok: number;
  bytes: number;
  byStatus: [number, number][];
  /** This process's CPU time (user + system) while flooding, and the wall time, in ms. */
  cpuMs: number;
  wallMs: number;
}

async function main(spec: FloodSpec): Promise<FloodResult> {
  rememberAuth(spec.base, spec.auth);
  const byStatus = new Map<number, number>();
  const tally = { ok: 0, bytes: 0 };
  const add = (status: number) => {
    if (status >= 200 && status < 300) tally.ok++;
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  };
  const stop = { done: false };
  const authUrl = `${spec.base}/api/targets/${spec.target.id}/authorized-keys?user=mesh`;
  let running: Promise<void>;
  let finish = async () => {};
  switch (spec.kind) {
    case "input": {
      const shell = await BridgeShell.open(spec.base, spec.ws, spec.localTargetId, { cols: 120, rows: 40 });
      shell.write("stty -echo; sleep 600\r");
      await sleep(500);
      // As large as an input frame may be (MAX_FRAME_BYTES, the type byte included).
      const frame = Buffer.alloc(MAX_FRAME_BYTES - 1, "x");
      running = (async () => {
        while (!stop.done && shell.open) {
          // Only what the kernel takes: the client must not be what grows.
          if (shell.bufferedAmount < 4 * 1024 * 1024) {
            shell.write(frame);
            tally.bytes += frame.length;
            tally.ok++;
          } else await sleep(1);
          if (tally.ok % 16 === 0) await new Promise((r) => setImmediate(r));
        }
      })();
      finish = () => shell.close();
      break;
    }
    case "keygen": {
      const client = loadClient("keepalive", 16, { localAddress: FLOOD_ADDRESS });
      const url = `${spec.base}/api/workspaces/${spec.ws}/key`;
      running = loops(16, stop, async () => add((await client.request("POST", url, spec.auth)).status)); // a PEM, dropped at once
      finish = async () => client.close();
      break;
    }
    case "authkeys": {
      const client = loadClient("keepalive", 64, { localAddress: FLOOD_ADDRESS });
      const headers = { authorization: `Bearer ${spec.target.token}`, "accept-encoding": "identity" };
      running = loops(64, stop, async () => add((await client.get(authUrl, headers)).status));
      finish = async () => client.close();
      break;
    }
    case "badtoken": {
      const client = loadClient("keepalive", 64, { localAddress: FLOOD_ADDRESS });
      running = loops(64, stop, async () =>
        add((await client.get(authUrl, { authorization: `Bearer mtt_${randomBytes(24).toString("base64url")}`, "accept-encoding": "identity" })).status),
      );
      finish = async () => client.close();
      break;
    }
  }
  process.stdout.write("FLOODING\n");
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(spec.seconds * 1000);
  stop.done = true;
  await running;
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  await finish();
  return { ...tally, byStatus: [...byStatus.entries()], cpuMs: (cpu.user + cpu.system) / 1000, wallMs };
}

main(JSON.parse(process.argv[2] ?? "null") as FloodSpec).then(
  (r) => {
    process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
