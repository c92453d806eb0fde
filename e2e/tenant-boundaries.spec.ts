// The cross-workspace shell attack, scripted exactly as it was reported: any
// signed-in person makes a workspace, registers a target at another workspace's
// target's address, pins that target's host key with one ssh-keyscan, takes a
// ticket and opens a terminal. Against the embedded target and against a real
// OpenSSH target of another workspace, they get no shell; and the failures they
// see do not tell a closed port from a refused login (no port scanner).
import { execFile } from "node:child_process";
import type { APIRequestContext } from "@playwright/test";
import { addPerson, cookieHeader, createWorkspace } from "./support/auth";
import { e2e } from "./support/env";
import { expect, freePort, ssh, test, writeKeyFile } from "./support/fixtures";
import { sshdUnavailable, type SshdTarget } from "./support/sshd";
import { handshake, localTarget, wsUrl, type Ticket } from "./support/terminal";

const VICTIM_PORT = Number(process.env.E2E_SSHD_PORT_3 ?? 2223);
const CONF = "/etc/meshia/target.conf";
const DROP_IN = "/etc/ssh/sshd_config.d/meshia.conf";
const UNREACHABLE = "The compute target could not be reached.";

test.describe.configure({ mode: "serial" });
test.skip(() => sshdUnavailable() !== null, sshdUnavailable() ?? "");

function keyscan(host: string, port: number): Promise<string[]> {
  return new Promise((resolve, reject) =>
    execFile("ssh-keyscan", ["-T", "5", "-p", String(port), host], (err, stdout) => {
      if (err && !stdout) return reject(err);
      resolve(
        stdout
          .split("\n")
          .filter((l) => l && !l.startsWith("#"))
          .map((l) => l.split(" ").slice(1).join(" ")),
      );
    }),
  );
}

interface Registration {
  target: { id: string };
  token: string;
  install: Record<string, unknown>;
}

async function register(request: APIRequestContext, ws: string, body: Record<string, unknown>) {
  const res = await request.post(`/api/workspaces/${ws}/targets`, { data: body });
  return { status: res.status(), body: (await res.json()) as Registration & { error?: { code: string; message: string; details?: unknown } } };
}

/** Opens a terminal on `targetId` as `who` and returns what the socket received before it closed. */
async function attempt(who: APIRequestContext, ws: string, targetId: string) {
  const res = await who.post(`/api/workspaces/${ws}/terminal/tickets`, { data: { targetId } });
  expect(res.status(), await res.text()).toBe(200);
  const ticket = (await res.json()) as Ticket;
  const h = await handshake(wsUrl(e2e.baseURL, ticket), { cookie: await cookieHeader(who), origin: e2e.origin });
  if (!h.client) throw new Error(`handshake refused: ${h.status}`);
  const got = h.client;
  got.resize(80, 24);
  got.type('echo __SHELL""_OK__\r');
  await got.whenClosed;
  return {
    errors: got.framesOf("error"),
    statuses: got.framesOf("status").filter((s) => s.state !== "connecting"),
    output: got.text(),
  };
}

const st = { victimWs: "", attackerWs: "", victim: null as SshdTarget | null };

test("the attack on the embedded target stops at registration: its address is loopback, refused with 400 naming host", async ({
  request,
  playwright,
  workspace,
}) => {
  const local = await localTarget(request, workspace);
  expect(local.host).toBe("127.0.0.1");
  const attacker = await addPerson(playwright, request, await createWorkspace(request, "Throwaway for the attacker"), "member", "mallory");
  st.attackerWs = await createWorkspace(attacker.request, "Mallory's workspace");
  for (const host of [local.host, "localhost", "127.0.0.1", "::1", "::ffff:127.0.0.1", "0.0.0.0", "169.254.169.254"]) {
    const reg = await register(attacker.request, st.attackerWs, { name: "not-yours", host, port: local.port });
    expect(reg.status, `${host}: ${JSON.stringify(reg.body)}`).toBe(400);
    expect(reg.body.error?.message, host).toMatch(/^host: .*MESHIA_TARGET_ALLOWED_NETWORKS/);
  }
  expect(((await (await attacker.request.get(`/api/workspaces/${st.attackerWs}/targets`)).json()) as { targets: unknown[] }).targets).toEqual([]);
  await attacker.request.storageState({ path: `${e2e.dataDir}-auth/mallory.json` });
  await attacker.request.dispose();
});

test("the attack on another workspace's OpenSSH target gets no shell, and the victim's target still serves its own people", async ({
  request,
  playwright,
  sshd,
  keyDir,
}) => {
  // The victim: a workspace with a real sshd target set up as an operator would, and its key.
  st.victimWs = await createWorkspace(request, "Victim workspace");
  const reg = await register(request, st.victimWs, { name: "victim-box", host: "127.0.0.2", port: VICTIM_PORT });
  expect(reg.status).toBe(201);
  const victim = sshd.target({
    name: "victim",
    host: "127.0.0.2",
    port: VICTIM_PORT,
    conf: reg.body.install[CONF] as string,
    dropIn: reg.body.install[DROP_IN] as string,
  });
  st.victim = victim;
  await victim.start();
  victim.startAgent();
  await expect
    .poll(async () => ((await (await request.get(`/api/workspaces/${st.victimWs}/targets/${reg.body.target.id}`)).json()) as { status: string }).status, {
      timeout: 20_000,
    })
    .toBe("live");
  const keyRes = await request.post(`/api/workspaces/${st.victimWs}/key`);
  expect(keyRes.status()).toBe(200);
  const victimFingerprint = keyRes.headers()["x-key-fingerprint"]!;
  const victimKey = writeKeyFile(keyDir, await keyRes.text());
  const control = await ssh({ key: victimKey, host: "127.0.0.2", port: VICTIM_PORT, command: "echo victim-ok" });
  expect(control.stdout.trim(), control.stderr).toBe("victim-ok");
  // The login is in the victim's audit: which target, with which key (this sshd, 9.2,
  // cannot pass where the login came from: %C needs a newer one).
  await expect
    .poll(
      async () => {
        const { access } = (await (await request.get(`/api/workspaces/${st.victimWs}/audit`)).json()) as {
          access: { kind: string; target: string; source: string | null; fingerprint: string | null; keyState: string | null; result: string }[];
        };
        return access.some(
          (a) =>
            a.kind === "key-lookup" && a.target === "victim-box" && a.fingerprint === victimFingerprint && a.keyState === "current" && a.result === "served",
        );
      },
      { timeout: 10_000 },
    )
    .toBe(true);

  // The attacker, exactly as reported.
  const attacker = await playwright.request.newContext({ baseURL: e2e.baseURL, storageState: `${e2e.dataDir}-auth/mallory.json` });
  const mine = await register(attacker, st.attackerWs, { name: "not-yours", host: "127.0.0.2", port: VICTIM_PORT });
  expect(mine.status, JSON.stringify(mine.body)).toBe(201);
  const hostKeys = await keyscan("127.0.0.2", VICTIM_PORT);
  expect(hostKeys.length).toBeGreaterThan(0);
  const boot = await attacker.post(`/api/targets/${mine.body.target.id}/boot`, {
    headers: { Authorization: `Bearer ${mine.body.token}` },
    data: { bootId: "stolen", port: VICTIM_PORT, hostKeys },
  });
  expect(boot.status(), await boot.text()).toBe(200);
  const acceptedBefore = (victim.log().match(/Accepted publickey/g) ?? []).length;
  const result = await attempt(attacker, st.attackerWs, mine.body.target.id);
  expect(result.output).not.toContain("__SHELL_OK__");
  expect(result.errors).toEqual([{ type: "error", code: "unreachable", message: UNREACHABLE }]);
  // sshd let nobody in meanwhile: the bridge's login with the attacker's target's credential was refused.
  await expect.poll(() => victim.log()).toMatch(/Failed publickey for mesh|Connection closed by authenticating user mesh/);
  expect((victim.log().match(/Accepted publickey/g) ?? []).length).toBe(acceptedBefore);

  // Nothing of it shows in the victim's workspace; the victim still gets in.
  const audit = (await (await request.get(`/api/workspaces/${st.victimWs}/audit`)).json()) as { sessions: unknown[]; events: { action: string }[] };
  expect(audit.sessions).toEqual([]);
  expect(audit.events.some((e) => e.action.startsWith("terminal."))).toBe(false);
  expect((await ssh({ key: victimKey, host: "127.0.0.2", port: VICTIM_PORT, command: "echo still-ok" })).stdout.trim()).toBe("still-ok");
  await attacker.dispose();
});

test("failures are not a port scanner: a closed port, a wrong host key and a refused login read the same", async ({ playwright }) => {
  const attacker = await playwright.request.newContext({ baseURL: e2e.baseURL, storageState: `${e2e.dataDir}-auth/mallory.json` });
  const victimKeys = await keyscan("127.0.0.2", VICTIM_PORT);
  const cases = [
    { name: "closed-port", host: "127.0.0.3", port: await freePort("127.0.0.3"), hostKeys: victimKeys },
    {
      name: "wrong-host-key",
      host: "127.0.0.2",
      port: VICTIM_PORT,
      hostKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBnJ9R0Xg7N2z2r9w9A0Qe3v4yP5mX8fJk1L2qS3t4uV"],
    },
    { name: "refused-login", host: "127.0.0.2", port: VICTIM_PORT, hostKeys: victimKeys },
  ];
  const seen: unknown[] = [];
  for (const c of cases) {
    const reg = await register(attacker, st.attackerWs, { name: c.name, host: c.host, port: c.port });
    expect(reg.status).toBe(201);
    const boot = await attacker.post(`/api/targets/${reg.body.target.id}/boot`, {
      headers: { Authorization: `Bearer ${reg.body.token}` },
      data: { bootId: c.name, port: c.port, hostKeys: c.hostKeys },
    });
    expect(boot.status()).toBe(200);
    const r = await attempt(attacker, st.attackerWs, reg.body.target.id);
    seen.push({ errors: r.errors, statuses: r.statuses });
  }
  expect(seen[0]).toEqual({
    errors: [{ type: "error", code: "unreachable", message: UNREACHABLE }],
    statuses: [{ type: "status", state: "ended", detail: UNREACHABLE }],
  });
  expect(seen[1]).toEqual(seen[0]);
  expect(seen[2]).toEqual(seen[0]);
  await attacker.dispose();
});

test("session tokens are in no JSON body the browser receives: sign-in and get-session answer without them", async ({ playwright }) => {
  const ctx = await playwright.request.newContext({ baseURL: e2e.baseURL, storageState: { cookies: [], origins: [] } });
  const res = await ctx.post("/api/auth/sign-in/email", { data: { email: e2e.owner.email, password: e2e.owner.password }, headers: { Origin: e2e.origin } });
  expect(res.status()).toBe(200);
  const cookie = (await ctx.storageState()).cookies.find((c) => c.name === "meshia.session_token")!;
  expect(cookie.httpOnly).toBe(true);
  const token = decodeURIComponent(cookie.value).split(".")[0]!;
  const bodies = [await res.text(), await (await ctx.get("/api/auth/get-session")).text()];
  for (const body of bodies) {
    expect(body).not.toContain(token);
    expect(body).not.toMatch(/"token"\s*:/);
  }
  expect(JSON.parse(bodies[1]!).user.email).toBe(e2e.owner.email);
  await ctx.post("/api/auth/sign-out", { headers: { Origin: e2e.origin } });
  await ctx.dispose();
});
