// The OpenSSH target of bench:terminal: a real sshd set up as an operator would.
import path from "node:path";
import { SshdHarness, sshdUnavailable } from "../../e2e/support/sshd";
import { defer } from "./cleanup";
import { getJson, ROOT } from "./server";
import { sleep } from "./stats";

/** Where the bench's sshd listens: a loopback address of its own (bench/lib/server.ts allows it as a target network). */
const SSHD_HOST = "127.0.0.9";
const SSHD_PORT = 2225;

export interface Target {
  id: string;
  kind: string;
  host: string;
  port: number;
}

/**
 * A real OpenSSH sshd on SSHD_HOST:SSHD_PORT, registered as a target of ctx's
 * workspace and set up as an operator would (the e2e harness: the shipped
 * AuthorizedKeysCommand and agent); returns the target once the agent has reported
 * its boot. Null (with the reason printed) where sshd cannot run (needs root).
 */
export async function openSshTarget(ctx: { base: string; ws: string }): Promise<Target | null> {
  const why = sshdUnavailable();
  if (why) {
    console.log(`\n[openssh] skipped: ${why}`);
    return null;
  }
  const harness = await SshdHarness.create(path.join(ROOT, ".tmp", `bench-sshd-${process.pid}`));
  defer(() => harness.dispose());
  const reg = await getJson<{ target: Target; install: Record<string, string> }>(`${ctx.base}/api/workspaces/${ctx.ws}/targets`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "bench-sshd", host: SSHD_HOST, port: SSHD_PORT }),
  });
  const conf = reg.install["/etc/meshia/target.conf"];
  const dropIn = reg.install["/etc/ssh/sshd_config.d/meshia.conf"];
  if (!conf || !dropIn) throw new Error(`registration handed out no target.conf or drop-in: ${Object.keys(reg.install).join(", ")}`);
  const sshd = harness.target({ name: "bench", host: SSHD_HOST, port: SSHD_PORT, conf, dropIn });
  await sshd.start();
  sshd.startAgent();
  const deadline = Date.now() + 30_000;
  for (;;) {
    const t = await getJson<Target & { status: string }>(`${ctx.base}/api/workspaces/${ctx.ws}/targets/${reg.target.id}`);
    if (t.status === "live" && t.port) {
      console.log(`[openssh] sshd (pid ${sshd.sshdPid() ?? "?"}) on ${SSHD_HOST}:${SSHD_PORT}, target ${t.id} live`);
      return t;
    }
    if (Date.now() > deadline) throw new Error(`the bench sshd never reported its boot (status ${t.status}); agent log:\n${sshd.agentLog()}`);
    await sleep(300);
  }
}
