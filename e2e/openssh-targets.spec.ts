// OpenSSH compute targets end to end: real sshd processes configured as an operator
// would (the shipped AuthorizedKeysCommand script and agent, the drop-in the control
// plane hands out), the real ssh client, the real server and a real browser.
//
// Targets (all in workspaces this spec creates, so the default workspace and its
// embedded target stay as other specs expect them):
//   alpha 127.0.0.2:22   workspace A, registered through the UI form
//   beta  127.0.0.3:22   workspace A, registered through the API
//   gamma 127.0.0.2:2222 workspace A, used to cut the control plane off
//   delta 127.0.0.3:2222 workspace B
// The tests share these targets and run in order (serial).
import http from "node:http";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { APIRequestContext, Page } from "@playwright/test";
import { expect, parseSshCommand, ssh, test, waitForTerminal, writeKeyFile, type SshResult } from "./support/fixtures";
import { sshdUnavailable, type SshdHarness, type SshdTarget, type SshdTargetOptions } from "./support/sshd";

const SSHD_PORT = Number(process.env.E2E_SSHD_PORT ?? 22);
const SSHD_PORT_2 = Number(process.env.E2E_SSHD_PORT_2 ?? 2222);
const CONF = "/etc/meshia/target.conf";
const DROP_IN = "/etc/ssh/sshd_config.d/meshia.conf";

test.describe.configure({ mode: "serial" });
// The function form runs per test in the worker, so the reason lands in each test's report.
test.skip(() => sshdUnavailable() !== null, sshdUnavailable() ?? "");

interface TargetView {
  id: string;
  name: string;
  host: string;
  port: number | null;
  status: string;
  bootId: string | null;
  hostKeyFingerprint: string | null;
  sshCommand: string | null;
}
interface Registration {
  target: TargetView;
  token: string;
  install: Record<string, unknown>;
}
interface Registered {
  id: string;
  token: string;
  sshd: SshdTarget;
}

// State shared by the serial tests below.
const st = {
  wsA: "",
  wsB: "",
  targets: {} as Record<"alpha" | "beta" | "gamma" | "delta", Registered>,
  keyDir: "",
  /** The current PEM file of each workspace. */
  keyA: "",
  keyB: "",
  oldKeysA: [] as string[],
};

test.beforeAll(() => {
  st.keyDir = mkdtempSync(path.join(os.tmpdir(), "meshia-e2e-openssh-"));
});
test.afterAll(() => {
  if (st.keyDir) rmSync(st.keyDir, { recursive: true, force: true });
});

// ---- helpers -------------------------------------------------------------------

async function createWorkspace(request: APIRequestContext, name: string): Promise<string> {
  const res = await request.post("/api/workspaces", { data: { name } });
  expect(res.status()).toBe(201);
  const ws = (await res.json()) as { id: string; name: string };
  expect(ws.name).toBe(name);
  return ws.id;
}

async function register(request: APIRequestContext, ws: string, body: Record<string, unknown>): Promise<Registration> {
  const res = await request.post(`/api/workspaces/${ws}/targets`, { data: body });
  expect(res.status(), await res.text()).toBe(201);
  return (await res.json()) as Registration;
}

async function getTarget(request: APIRequestContext, ws: string, id: string): Promise<TargetView> {
  const res = await request.get(`/api/workspaces/${ws}/targets/${id}`);
  expect(res.ok()).toBeTruthy();
  return (await res.json()) as TargetView;
}

async function waitBooted(request: APIRequestContext, ws: string, t: Registered): Promise<TargetView> {
  let view: TargetView | null = null;
  await expect
    .poll(
      async () => {
        view = await getTarget(request, ws, t.id);
        return `${view.status} ${view.bootId}`;
      },
      { timeout: 20_000, message: `${t.sshd.name} never reported boot ${t.sshd.bootId}` },
    )
    .toBe(`live ${t.sshd.bootId}`);
  return view!;
}

/** Registers `name` through the API, starts its sshd and its agent, and waits until it is live. */
async function apiTarget(
  request: APIRequestContext,
  sshd: SshdHarness,
  ws: string,
  name: "beta" | "gamma" | "delta",
  host: string,
  port: number,
  agentEnv: Record<string, string> = {},
  keys: Pick<SshdTargetOptions, "hostKeyTypes" | "staleDsaKey"> = {},
): Promise<Registered> {
  const reg = await register(request, ws, { name, host, port });
  const conf = reg.install[CONF] as string;
  const t: Registered = { id: reg.target.id, token: reg.token, sshd: sshd.target({ name, host, port, conf, dropIn: reg.install[DROP_IN] as string, ...keys }) };
  await t.sshd.start();
  t.sshd.startAgent(agentEnv);
  await waitBooted(request, ws, t);
  return t;
}

async function generateKey(request: APIRequestContext, ws: string, name: string): Promise<{ file: string; fingerprint: string; publicKey: string }> {
  const res = await request.post(`/api/workspaces/${ws}/key`);
  expect(res.status()).toBe(200);
  expect(res.headers()["content-disposition"]).toContain("meshia_key.pem");
  const file = writeKeyFile(st.keyDir, await res.text(), name);
  const fingerprint = res.headers()["x-key-fingerprint"] ?? "";
  const pub = (await (await request.get(`/api/workspaces/${ws}/key`)).json()) as { publicKey: string; fingerprint: string };
  expect(pub.fingerprint).toBe(fingerprint);
  return { file, fingerprint, publicKey: pub.publicKey };
}

function authorizedKeys(request: APIRequestContext, targetId: string, token: string | null, user = "mesh") {
  return request.get(`/api/targets/${targetId}/authorized-keys?user=${encodeURIComponent(user)}`, {
    headers: token === null ? {} : { Authorization: `Bearer ${token}` },
  });
}

function login(t: Registered, key: string, command = "echo ok"): Promise<SshResult> {
  return ssh({ key, host: t.sshd.host, port: t.sshd.port, command });
}

function expectLoggedIn(r: SshResult, what: string): void {
  expect(r.code, `${what}: ${r.stderr}`).toBe(0);
  expect(r.stdout.trim(), what).toBe("ok");
}

function expectRefused(r: SshResult, what: string): void {
  expect(r.code, `${what} should be refused, got stdout ${JSON.stringify(r.stdout)}`).toBe(255);
  expect(r.stderr, what).toContain("Permission denied (publickey)");
}

/** A port on which nothing listens (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** The "Target for new terminals" select, then "New terminal"; waits for the new tab's status bar. */
async function openTerminalOn(page: Page, targetId: string) {
  const tabs = page.getByRole("tab");
  // Once mounted, the panel opens a first tab on a live target by itself (these
  // workspaces always have one): count after that, or it and the new tab arrive together.
  await expect(tabs.first()).toBeVisible();
  const before = await tabs.count();
  await page.getByLabel("Target for new terminals").selectOption(targetId);
  await page.getByRole("button", { name: "New terminal" }).click();
  await expect(tabs).toHaveCount(before + 1);
  return page.locator('.terminal-view:not([hidden]) [data-testid="terminal-status"]');
}

// ---- the tests -------------------------------------------------------------------

test("targets register through the UI form and the API; sshd reports its boot with the shipped agent", async ({ page, request, sshd, baseURL }) => {
  st.wsA = await createWorkspace(request, "OpenSSH A");
  st.wsB = await createWorkspace(request, "OpenSSH B");

  // The workspace header links to the targets page.
  await page.goto(`/w/${st.wsA}`);
  await page.getByRole("navigation", { name: "Workspace" }).getByRole("link", { name: "Targets" }).click();
  await expect(page).toHaveURL(new RegExp(`/w/${st.wsA}/targets$`));
  await expect(page.getByText("This workspace has no compute targets yet.")).toBeVisible();

  await page.getByLabel("Name").fill("alpha");
  await page.getByLabel("Public host").fill("127.0.0.2");
  await page.getByLabel("SSH port").fill(String(SSHD_PORT));
  await page.getByRole("button", { name: "Add target" }).click();

  const shown = page.getByTestId("registration");
  await expect(shown).toBeVisible();
  const alphaId = (await shown.getAttribute("data-target-id")) ?? "";
  const token = (await page.getByTestId("target-token").textContent()) ?? "";
  expect(token).toMatch(/^mtt_[A-Za-z0-9_-]{43}$/);
  const file = (p: string) => page.locator(`[data-testid="install-file"][data-path="${p}"]`).textContent();
  const conf = (await file(CONF)) ?? "";
  const dropIn = (await file(DROP_IN)) ?? "";
  // The files shown are the ones the target runs with (below, verbatim but for paths).
  expect(conf).toContain(`MESHIA_URL=${baseURL}\n`);
  expect(conf).toContain(`MESHIA_TARGET_ID=${alphaId}\n`);
  expect(conf).toContain(`MESHIA_TARGET_TOKEN=${token}\n`);
  expect(dropIn).toContain("AuthorizedKeysCommand /usr/local/libexec/meshia-authorized-keys /etc/meshia/target.conf %u %f");
  expect(dropIn).toContain("AuthorizedKeysCommandUser nobody");
  expect(await file("/etc/systemd/system/meshia-target-agent.service")).toContain(
    "ExecStart=/usr/local/libexec/meshia-target-agent /etc/meshia/target.conf run",
  );
  const steps = page.locator(".install-steps");
  await expect(steps).toContainText("install -o root -g root -m 755");
  await expect(steps).toContainText("install -o root -g nogroup -m 640 target.conf");
  await expect(steps).toContainText("systemctl enable --now meshia-target-agent");

  // The scripts the steps fetch are the shipped ones, byte for byte.
  for (const script of ["meshia-authorized-keys", "meshia-target-agent"]) {
    await expect(steps).toContainText(`${baseURL}/target-scripts/${script}`);
    const served = await request.get(`/target-scripts/${script}`);
    expect(served.status()).toBe(200);
    expect(await served.text()).toBe(readFileSync(path.join("scripts", "target", script), "utf8"));
  }

  const alphaRow = page.locator(`[data-testid="target-row"][data-target-id="${alphaId}"]`);
  await expect(alphaRow).toHaveAttribute("data-status", "pending");
  await expect(alphaRow).toContainText(`127.0.0.2:${SSHD_PORT}`);
  await expect(alphaRow).toContainText("not booted yet");

  const alpha: Registered = { id: alphaId, token, sshd: sshd.target({ name: "alpha", host: "127.0.0.2", port: SSHD_PORT, conf, dropIn }) };
  await alpha.sshd.start();
  alpha.sshd.startAgent();
  st.targets.alpha = alpha;
  // beta is a Debian-like host: ed25519, ecdsa and rsa host keys, plus a DSA key file
  // left over from an old release that sshd no longer serves.
  st.targets.beta = await apiTarget(request, sshd, st.wsA, "beta", "127.0.0.3", SSHD_PORT, {}, { hostKeyTypes: ["ecdsa", "rsa"], staleDsaKey: true });

  // Live, with the host key the agent read from sshd's own key file pinned.
  await waitBooted(request, st.wsA, alpha);
  for (const t of [alpha, st.targets.beta]) {
    const row = page.locator(`[data-testid="target-row"][data-target-id="${t.id}"]`);
    await expect(row).toHaveAttribute("data-status", "live", { timeout: 15_000 });
    await expect(row.getByTestId("target-host-key")).toHaveText(await t.sshd.hostKeyFingerprint());
    await expect(row).toContainText(/\d+ s ago/);
  }

  // The token is shown once: not after a reload.
  await page.reload();
  await expect(page.getByTestId("target-row")).toHaveCount(2);
  await expect(page.getByTestId("target-token")).toHaveCount(0);
  expect(await page.content()).not.toContain(token);

  // Before any workspace key exists, a target is told only the bridge key.
  const body = await (await authorizedKeys(request, alpha.id, alpha.token)).text();
  expect(body.trim().split("\n")).toHaveLength(1);
  expect(body).toMatch(/^no-port-forwarding,no-agent-forwarding,no-X11-forwarding ssh-ed25519 \S+ meshia-bridge-\S+\n$/);
});

test("a generated key works on both targets; after Regenerate the old one is refused on both at once", async ({ request }) => {
  const { alpha, beta } = st.targets;
  const first = await generateKey(request, st.wsA, "a1.pem");
  st.keyA = first.file;

  // Real ssh, and the host key checked strictly against what the control plane pinned.
  const knownHosts = path.join(st.keyDir, "known_hosts");
  writeFileSync(knownHosts, `${alpha.sshd.knownHostsLine()}\n${beta.sshd.knownHostsLine()}\n`);
  for (const t of [alpha, beta]) {
    const r = await ssh({ key: st.keyA, host: t.sshd.host, port: t.sshd.port, command: "echo ok", knownHosts });
    expectLoggedIn(r, `first key on ${t.sshd.name}`);
    const pinned = (await getTarget(request, st.wsA, t.id)).hostKeyFingerprint;
    expect(pinned).toBe(await t.sshd.hostKeyFingerprint());
  }

  // Someone holding the key could try to keep access by planting it in ~mesh/.ssh:
  // the shipped drop-in must make sshd ignore that file.
  const plant = await login(alpha, st.keyA, `umask 077; mkdir -p ~/.ssh && printf '%s\\n' '${first.publicKey}' >> ~/.ssh/authorized_keys && echo ok`);
  expectLoggedIn(plant, "planting the key in ~/.ssh/authorized_keys");

  try {
    const regenerate = await request.post(`/api/workspaces/${st.wsA}/key`);
    expect(regenerate.status()).toBe(200);
    const t0 = Date.now();
    st.oldKeysA.push(st.keyA);
    st.keyA = writeKeyFile(st.keyDir, await regenerate.text(), "a2.pem");

    // Time from Regenerate's response until the old key is refused on both targets.
    const refusedAt: Record<string, number> = {};
    let attempts = 0;
    await expect
      .poll(
        async () => {
          attempts++;
          await Promise.all(
            [alpha, beta]
              .filter((t) => !(t.sshd.name in refusedAt))
              .map(async (t) => {
                const r = await login(t, st.oldKeysA[0]!);
                if (r.code === 255 && r.stderr.includes("Permission denied")) refusedAt[t.sshd.name] = Date.now() - t0;
              }),
          );
          return Object.keys(refusedAt).sort().join(",");
        },
        { timeout: 10_000, intervals: [0], message: "the old key was still accepted" },
      )
      .toBe("alpha,beta");
    const worst = Math.max(...Object.values(refusedAt));
    const line = `rotation: old key refused on both targets ${worst} ms after Regenerate's response (alpha ${refusedAt.alpha} ms, beta ${refusedAt.beta} ms, ${attempts} round(s) of real ssh logins)`;
    console.log(line);
    test.info().annotations.push({ type: "measurement", description: line });
    expect(attempts, "refused on the very first login after Regenerate").toBe(1);

    for (const t of [alpha, beta]) {
      expectLoggedIn(await login(t, st.keyA), `new key on ${t.sshd.name}`);
      expectRefused(await login(t, st.oldKeysA[0]!), `old key on ${t.sshd.name}`);
    }
  } finally {
    await login(alpha, st.keyA, "rm -f ~/.ssh/authorized_keys; echo ok");
  }
});

test("a target's token only ever gets its own workspace's key", async ({ request, sshd }) => {
  const { alpha, beta } = st.targets;
  const b = await generateKey(request, st.wsB, "b1.pem");
  st.keyB = b.file;
  const delta = await apiTarget(request, sshd, st.wsB, "delta", "127.0.0.3", SSHD_PORT_2);
  st.targets.delta = delta;
  const keyA = (await (await request.get(`/api/workspaces/${st.wsA}/key`)).json()) as { publicKey: string };
  const blob = (line: string) => line.split(" ")[1]!;

  const forAlpha = await (await authorizedKeys(request, alpha.id, alpha.token)).text();
  const forDelta = await (await authorizedKeys(request, delta.id, delta.token)).text();
  expect(forAlpha).toContain(blob(keyA.publicKey));
  expect(forAlpha).not.toContain(blob(b.publicKey));
  expect(forDelta).toContain(blob(b.publicKey));
  expect(forDelta).not.toContain(blob(keyA.publicKey));
  // A's token on B's target id: nothing.
  expect((await authorizedKeys(request, delta.id, alpha.token)).status()).toBe(401);

  expectLoggedIn(await login(delta, st.keyB), "B's key on B's target");
  expectRefused(await login(delta, st.keyA), "A's key on B's target");
  expectRefused(await login(alpha, st.keyB), "B's key on A's alpha");
  expectRefused(await login(beta, st.keyB), "B's key on A's beta");
});

test("Revoke refuses the workspace key on every target at once, and only that workspace's", async ({ request }) => {
  const { alpha, beta, delta } = st.targets;
  const res = await request.delete(`/api/workspaces/${st.wsA}/key`);
  expect(res.status()).toBe(200);
  for (const t of [alpha, beta]) {
    expectRefused(await login(t, st.keyA), `revoked key on ${t.sshd.name}`);
    // Only the bridge key is left for A's targets.
    expect(await (await authorizedKeys(request, t.id, t.token)).text()).not.toContain("ssh-rsa");
  }
  expectLoggedIn(await login(delta, st.keyB), "B's key after A's revoke");
  st.oldKeysA.push(st.keyA);
  st.keyA = (await generateKey(request, st.wsA, "a3.pem")).file;
});

test("logins fail closed while the control plane is unreachable and work again once it answers", async ({ request, sshd, baseURL }) => {
  // The control plane is cut off for one target by pointing its target.conf at
  // addresses that do not answer properly, not by stopping the server: that is
  // exactly what the script sees (it reads the conf at every login), it is
  // deterministic, and the server, the browser sessions and the other targets
  // keep running. The agent keeps reporting through the real URL (env override).
  const gamma = await apiTarget(request, sshd, st.wsA, "gamma", "127.0.0.2", SSHD_PORT_2, { MESHIA_URL: baseURL! });
  st.targets.gamma = gamma;
  expectLoggedIn(await login(gamma, st.keyA), "gamma while reachable");
  const logFrom = gamma.sshd.log().length;
  const sshdSaid = () => gamma.sshd.log().slice(logFrom);

  // Nothing listens: curl fails at once (exit 7).
  gamma.sshd.setConfValue("MESHIA_URL", `http://127.0.0.1:${await closedPort()}`);
  expectRefused(await login(gamma, st.keyA), "connection refused");
  expect(sshdSaid()).toMatch(/AuthorizedKeysCommand .* failed, status 7/);

  // Accepts and never answers: the script gives up after its --max-time (exit 28).
  const sockets = new Set<net.Socket>();
  const blackHole = net.createServer((s) => sockets.add(s.on("error", () => undefined)));
  await new Promise<void>((r) => blackHole.listen(0, "127.0.0.1", r));
  // An error page that happens to contain the very key: --fail must keep it from sshd.
  const current = (await (await request.get(`/api/workspaces/${st.wsA}/key`)).json()) as { publicKey: string };
  const errorPage = http.createServer((_req, res) => res.writeHead(503, { "Content-Type": "text/plain" }).end(`${current.publicKey}\n`));
  await new Promise<void>((r) => errorPage.listen(0, "127.0.0.1", r));
  try {
    gamma.sshd.setConfValue("MESHIA_URL", `http://127.0.0.1:${(blackHole.address() as net.AddressInfo).port}`);
    const t0 = Date.now();
    expectRefused(await login(gamma, st.keyA), "control plane hanging");
    const hungFor = Date.now() - t0;
    console.log(`fail closed: a hanging control plane costs a login ${hungFor} ms before it is refused`);
    expect(hungFor).toBeLessThan(15_000);
    expect(sshdSaid()).toMatch(/AuthorizedKeysCommand .* failed, status 28/);

    gamma.sshd.setConfValue("MESHIA_URL", `http://127.0.0.1:${(errorPage.address() as net.AddressInfo).port}`);
    expectRefused(await login(gamma, st.keyA), "control plane answering 503");
    expect(sshdSaid()).toMatch(/AuthorizedKeysCommand .* failed, status 22/);
  } finally {
    for (const s of sockets) s.destroy();
    blackHole.close();
    errorPage.close();
  }

  gamma.sshd.setConfValue("MESHIA_URL", baseURL!);
  expectLoggedIn(await login(gamma, st.keyA), "gamma once reachable again");
});

test("the browser terminal opens a shell on an OpenSSH target through the bridge", async ({ page }) => {
  const { beta } = st.targets;
  const logFrom = beta.sshd.log().length;
  await page.goto(`/w/${st.wsA}`);
  const status = await openTerminalOn(page, beta.id);
  await expect(status).toHaveAttribute("data-state", "live", { timeout: 20_000 });
  await page.locator('.terminal-view:not([hidden]) [data-testid="terminal"]').click();
  await page.keyboard.type("hostname; whoami\n");
  const hostname = os.hostname().replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const text = await waitForTerminal(page, new RegExp(`${hostname}\\s*\\n\\s*mesh\\b`));
  expect(text).toContain("mesh");
  // Through the real sshd, with the bridge's own ed25519 key (never the user's).
  expect(beta.sshd.log().slice(logFrom)).toMatch(/Accepted publickey for mesh from 127\.0\.0\.1 port \d+ ssh2: ED25519 SHA256:/);

  // The key dialog's command for this target reaches this very sshd and logs in with the workspace key.
  await page.getByRole("button", { name: "SSH access" }).click();
  const command = (await page.getByTestId("ssh-command").textContent()) ?? "";
  const { host, port, user } = parseSshCommand(command);
  expect({ host, port, user }).toEqual({ host: beta.sshd.host, port: beta.sshd.port, user: "mesh" });
  await expect(page.getByTestId("host-key-fingerprint")).toHaveText(await beta.sshd.hostKeyFingerprint());
  expectLoggedIn(await ssh({ key: st.keyA, host, port, command: "echo ok" }), "the dialog's command");
});

test("a target presenting another host key than the pinned one is refused by the bridge; other host keys within a boot get 409", async ({ page, request }) => {
  const { beta } = st.targets;
  const pinned = (await getTarget(request, st.wsA, beta.id)).hostKeyFingerprint;
  // sshd comes back with a new host key, and no new boot is reported.
  await beta.sshd.restart({ newHostKey: true });
  expect(await beta.sshd.hostKeyFingerprint()).not.toBe(pinned);

  await page.goto(`/w/${st.wsA}`);
  const logFrom = readFileSync(process.env.E2E_SERVER_LOG!, "utf8").length;
  const status = await openTerminalOn(page, beta.id);
  // The user is told only that it could not be reached (no port scanner); the cause is in the server log.
  await expect(status).toContainText("could not be reached", { timeout: 20_000 });
  await expect(status).not.toHaveAttribute("data-state", "live");
  await expect.poll(() => readFileSync(process.env.E2E_SERVER_LOG!, "utf8").slice(logFrom)).toMatch(/"reason":"host_key_mismatch"/);

  // The same boot reporting other host keys: refused and audited; the pin stays.
  const report = await beta.sshd.report("boot");
  expect(report.code).not.toBe(0);
  expect(report.stderr).toContain("different host keys within the same boot");
  const direct = await request.post(`/api/targets/${beta.id}/boot`, {
    headers: { Authorization: `Bearer ${beta.token}` },
    data: { bootId: beta.sshd.bootId, port: beta.sshd.port, hostKeys: [beta.sshd.hostKeyLine()] },
  });
  expect(direct.status()).toBe(409);
  expect(((await direct.json()) as { error: { details: { reason: string } } }).error.details.reason).toBe("host_key_changed");
  expect((await getTarget(request, st.wsA, beta.id)).hostKeyFingerprint).toBe(pinned);
  expect(readFileSync(process.env.E2E_SERVER_LOG!, "utf8")).toContain("HOST KEY CHANGED WITHIN A BOOT");

  // A real reboot (a new boot id) pins the new key, and the terminal works again.
  await beta.sshd.stopAgent();
  beta.sshd.newBoot();
  beta.sshd.startAgent();
  const rebooted = await waitBooted(request, st.wsA, beta);
  expect(rebooted.hostKeyFingerprint).toBe(await beta.sshd.hostKeyFingerprint());
  await page.reload();
  const again = await openTerminalOn(page, beta.id);
  await expect(again).toHaveAttribute("data-state", "live", { timeout: 20_000 });
});

test("invalid registrations are refused naming the field, in the API and next to the form field", async ({ page, request }) => {
  const cases: [Record<string, unknown>, number, string][] = [
    [{ name: "x", host: "-oProxyCommand=x" }, 400, "host"],
    [{ name: "x", host: "a b" }, 400, "host"],
    [{ name: "x", host: "fe80::1%eth0" }, 400, "host"],
    [{ name: "x", host: "h.example", port: 0 }, 400, "port"],
    [{ name: "x", host: "h.example", port: 70000 }, 400, "port"],
    [{ name: "n".repeat(65), host: "h.example" }, 400, "name"],
    [{ name: "x", host: "h.example", extra: 1 }, 422, "extra"],
    [{ name: "x", host: "h.example", port: "22" }, 422, "port"],
  ];
  for (const [body, status, field] of cases) {
    const res = await request.post(`/api/workspaces/${st.wsA}/targets`, { data: body });
    const json = (await res.json()) as { error: { message: string; details: { fields: { field: string }[] } } };
    expect(res.status(), JSON.stringify(body)).toBe(status);
    expect(
      json.error.details.fields.map((f) => f.field),
      JSON.stringify(body),
    ).toEqual([field]);
    expect(json.error.message.startsWith(`${field}: `), json.error.message).toBe(true);
  }

  // Nothing was stored, and every command shown is safe to paste.
  const list = (await (await request.get(`/api/workspaces/${st.wsA}/targets`)).json()) as { targets: TargetView[] };
  expect(list.targets.map((t) => t.name).sort()).toEqual(["alpha", "beta", "gamma"]);
  for (const t of list.targets)
    expect(t.sshCommand).toMatch(/^chmod 600 ~\/Downloads\/meshia_key\.pem && ssh -i ~\/Downloads\/meshia_key\.pem -p \d{1,5} mesh@[A-Za-z0-9.:]+$/);

  await page.goto(`/w/${st.wsA}/targets`);
  await page.getByLabel("Name").fill("n".repeat(65));
  await page.getByLabel("Public host").fill("a b");
  await page.getByLabel("SSH port").fill("70000");
  await page.getByRole("button", { name: "Add target" }).click();
  for (const [field, label, message] of [
    ["name", "Name", "name must be at most 64 characters"],
    ["host", "Public host", "host must be a hostname or an IP address"],
    ["port", "SSH port", "port must be 1-65535"],
  ] as const) {
    await expect(page.getByTestId(`error-${field}`)).toHaveText(message);
    await expect(page.getByLabel(label)).toHaveAttribute("aria-invalid", "true");
    await expect(page.getByLabel(label)).toHaveAccessibleDescription(message);
  }
  await expect(page.getByTestId("registration")).toHaveCount(0);
  await expect(page.getByTestId("target-row")).toHaveCount(3);
});

test("target endpoints want the target's own token, and tell users other than mesh nothing", async ({ request }) => {
  const { alpha, beta } = st.targets;
  const wrong = "mtt_" + "A".repeat(43);
  const boot = { bootId: alpha.sshd.bootId, port: alpha.sshd.port, hostKeys: [alpha.sshd.hostKeyLine()] };
  for (const token of [wrong, beta.token, null]) {
    const headers: Record<string, string> = token === null ? {} : { Authorization: `Bearer ${token}` };
    expect((await authorizedKeys(request, alpha.id, token)).status()).toBe(401);
    expect((await request.post(`/api/targets/${alpha.id}/boot`, { headers, data: boot })).status()).toBe(401);
    expect((await request.post(`/api/targets/${alpha.id}/heartbeat`, { headers, data: { bootId: boot.bootId } })).status()).toBe(401);
    expect((await request.post(`/api/targets/${alpha.id}/stop`, { headers, data: { bootId: boot.bootId } })).status()).toBe(401);
  }
  // An unknown target looks the same as a wrong token.
  expect((await authorizedKeys(request, "00000000-0000-4000-8000-000000000000", alpha.token)).status()).toBe(401);

  for (const user of ["root", "nobody", "mesh2"]) {
    const res = await authorizedKeys(request, alpha.id, alpha.token, user);
    expect(res.status()).toBe(200);
    expect(await res.text(), user).toBe("");
  }
  expect((await authorizedKeys(request, alpha.id, alpha.token, "mesh")).status()).toBe(200);
  expect(await (await authorizedKeys(request, alpha.id, alpha.token, "mesh")).text()).toContain("ssh-rsa");
  // The shipped script, run as sshd runs it: keys for mesh, nothing for root, and
  // names that could bend the URL never reach it.
  const forMesh = await alpha.sshd.authorizedKeysCommand("mesh");
  expect(forMesh.code).toBe(0);
  expect(forMesh.stdout).toContain("ssh-rsa");
  const forRoot = await alpha.sshd.authorizedKeysCommand("root");
  expect(forRoot).toMatchObject({ code: 0, stdout: "" });
  for (const user of ["mesh&user=mesh", "-K", "../mesh"]) {
    const r = await alpha.sshd.authorizedKeysCommand(user);
    expect(r.stdout, user).toBe("");
    expect(r.code, user).not.toBe(0);
  }
});

test("a stopped target gets no keys, and its live terminal session ends with compute stopped", async ({ page, request }) => {
  const { alpha, beta } = st.targets;
  await page.goto(`/w/${st.wsA}`);
  const status = await openTerminalOn(page, alpha.id);
  await expect(status).toHaveAttribute("data-state", "live", { timeout: 20_000 });
  await page.locator('.terminal-view:not([hidden]) [data-testid="terminal"]').click();
  await page.keyboard.type("echo before-$((6*7))\n");
  await waitForTerminal(page, /before-42/);

  // The agent's SIGTERM path (systemd stopping it at shutdown) reports the stop.
  await alpha.sshd.stopAgent();
  expect((await getTarget(request, st.wsA, alpha.id)).status).toBe("stopped");
  const keys = await authorizedKeys(request, alpha.id, alpha.token);
  expect(keys.status()).toBe(200);
  expect(await keys.text()).toBe("");
  expectRefused(await login(alpha, st.keyA), "key on a stopped target");
  expectLoggedIn(await login(beta, st.keyA), "key on a target still live");

  await expect(status).toHaveAttribute("data-state", "compute-stopped", { timeout: 10_000 });
  await expect(status).toContainText("compute target stopped");
});

test("removing a target in the UI ends its token and its terminal sessions at once", async ({ page, context, request }) => {
  const { gamma } = st.targets;
  await page.goto(`/w/${st.wsA}`);
  const status = await openTerminalOn(page, gamma.id);
  await expect(status).toHaveAttribute("data-state", "live", { timeout: 20_000 });

  const targets = await context.newPage();
  await targets.goto(`/w/${st.wsA}/targets`);
  const row = targets.locator(`[data-testid="target-row"][data-target-id="${gamma.id}"]`);
  await row.getByRole("button", { name: "Remove gamma" }).click();
  await row.getByRole("button", { name: "Remove gamma" }).click(); // the confirmation
  await expect(row).toHaveCount(0);
  expect((await authorizedKeys(request, gamma.id, gamma.token)).status()).toBe(401);
  expectRefused(await login(gamma, st.keyA), "key on a removed target");
  await expect(status).toHaveAttribute("data-state", "compute-stopped", { timeout: 10_000 });
  await expect(status).toContainText("removed from the workspace");
  await targets.reload();
  await expect(targets.getByTestId("target-row")).toHaveCount(2);
});
