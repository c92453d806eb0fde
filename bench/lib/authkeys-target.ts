// The target side of bench:authkeys: a live target on a fresh server (registered,
// booted, with a workspace key) and the shipped AuthorizedKeysCommand run as sshd runs it.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { generateEd25519 } from "../../lib/keys/openssh-key";
import { authFor, ROOT } from "./server";

async function api(base: string, method: string, p: string, body?: unknown, token?: string): Promise<Response> {
  // The target's token for its own routes; the owner's API token for the rest.
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : authFor(base + p);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return res;
}

/** A workspace key and a booted target on a fresh server: what a live target looks like. */
export async function setUpTarget(base: string): Promise<{ target: string; token: string }> {
  const { workspaces } = (await (await api(base, "GET", "/api/workspaces")).json()) as { workspaces: { id: string }[] };
  const ws = workspaces[0]!.id;
  await api(base, "POST", `/api/workspaces/${ws}/key`);
  const reg = (await (await api(base, "POST", `/api/workspaces/${ws}/targets`, { name: "bench", host: "127.0.0.9", port: 22 })).json()) as {
    target: { id: string };
    token: string;
  };
  await api(
    base,
    "POST",
    `/api/targets/${reg.target.id}/boot`,
    { bootId: "bench-boot", port: 22, hostKeys: [generateEd25519("bench-host").publicKey] },
    reg.token,
  );
  return { target: reg.target.id, token: reg.token };
}

/** The shipped AuthorizedKeysCommand end to end (curl process included), as sshd runs it per login. */
export async function scriptTimings(base: string, target: string, token: string, runs: number): Promise<number[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "meshia-bench-conf-"));
  const conf = path.join(dir, "target.conf");
  writeFileSync(conf, `MESHIA_URL=${base}\nMESHIA_TARGET_ID=${target}\nMESHIA_TARGET_TOKEN=${token}\n`, { mode: 0o600 });
  const script = path.join(ROOT, "scripts", "target", "meshia-authorized-keys");
  const out: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const code = await new Promise<number | null>((resolve) => spawn("/bin/sh", [script, conf, "mesh"], { stdio: "ignore" }).on("exit", resolve));
      if (code !== 0) throw new Error(`meshia-authorized-keys exited ${code}`);
      out.push(performance.now() - t0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
