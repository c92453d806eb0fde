// Two control-plane instances on one Postgres behind a load balancer
// (e2e/support/cluster.ts): a terminal session lives on the instance that holds its
// SSH connection, and a socket that lands on the other one is proxied there.
//   - Stop and Start of the embedded target (run by B) through A;
//   - open on A, resume through B: every byte exactly once, in order;
//   - the internal endpoint refuses what a browser could forge;
//   - kill A: B keeps serving, and A's session ends in the tab with a clear status.
// Skipped (with the reason) without DATABASE_URL. Under PGlite, the internal
// endpoint does not exist (last test, against the suite's own server).
import { createHmac, hkdfSync, randomBytes, randomUUID } from "node:crypto";
import type { BrowserContext, Page } from "@playwright/test";
import WebSocket from "ws";
import { ProtocolClient } from "../lib/terminal/testing/protocol-client";
import { e2e } from "./support/env";
import { cookieHeader } from "./support/auth";
import { expect, ssh, test, writeKeyFile } from "./support/fixtures";
import { sshdUnavailable } from "./support/sshd";
import { CLUSTER_PORTS, clusterSkipReason, startCluster, type Cluster } from "./support/cluster";
import {
  activeTabId,
  handshake,
  lines,
  recordStates,
  recordedStates,
  runAndRead,
  run,
  selectTab,
  sessionIdOf,
  tabIds,
  view,
  waitTabLive,
} from "./support/terminal";

const exactLine = (all: string[], text: string) => all.filter((l) => l === text).length;
const INTERNAL = "/internal/terminal";
/** Sign-in attempts per address and window in this cluster (MESHIA_SIGNIN_RATE below). */
const SIGNIN_MAX = 6;
/** The OpenSSH target that asks instance A (127.0.0.3; the other specs use 2222 and 2224 there). */
const ASKS_A_PORT = Number(process.env.E2E_SSHD_PORT_CLUSTER ?? 2226);
const GRANT_HEADER = "x-meshia-internal-grant";

/** A grant as an instance makes it (lib/terminal/cluster/internal-auth.ts), signed with `secret`. */
function grant(
  secret: string,
  fields: { to: string; sessionId: string; workspaceId: string; targetId: string; userId: string | null; resume: number | null },
): string {
  const key = Buffer.from(hkdfSync("sha256", secret, "meshia", "internal-grant/v1", 32));
  const payload = Buffer.from(JSON.stringify({ v: 1, ...fields, exp: Date.now() + 10_000, nonce: randomBytes(16).toString("base64url") })).toString(
    "base64url",
  );
  return `${payload}.${createHmac("sha256", key).update(payload).digest("base64url")}`;
}

/**
 * The status of a WebSocket handshake to `url` with these headers (101 when it
 * opened), and the frames received (collected from the start: the first ones may
 * arrive with the 101 itself, before the caller could listen).
 */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<{ status: number; ws: WebSocket | null; client: ProtocolClient }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    const client = new ProtocolClient(ws);
    ws.once("open", () => resolve({ status: 101, ws, client }));
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, ws: null, client });
    });
    ws.once("error", reject);
  });
}

test.describe("several instances on one Postgres", () => {
  test.describe.configure({ mode: "serial", timeout: 180_000 });
  const skip = clusterSkipReason();
  test.skip(skip !== null, skip ?? "");

  let cluster: Cluster;
  let context: BrowserContext;
  let page: Page;
  let workspaceId: string;
  let tab1: string;
  let session1: string;
  let ids: { a: string; b: string };

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(240_000);
    cluster = await startCluster({ tag: "e2e", env: { MESHIA_SIGNIN_RATE: `${SIGNIN_MAX}/60`, MESHIA_TARGET_ALLOWED_NETWORKS: "127.0.0.3/32" } });
    context = await browser.newContext({ baseURL: cluster.base, storageState: undefined });
    const res = await context.request.post(`${cluster.base}/api/setup`, {
      headers: { Origin: cluster.base },
      data: { token: cluster.setupToken, name: "Cluster Owner", email: "cluster-owner@e2e.example", password: "cluster-password-e2e-1" },
    });
    expect(res.status(), await res.text()).toBe(201);
    workspaceId = ((await res.json()) as { workspaceId: string }).workspaceId;
    const rows = await cluster.query<{ id: string; internal_url: string }>("SELECT id, internal_url FROM control_plane_instances");
    const byUrl = (base: string) => rows.find((r) => r.internal_url === base)?.id;
    ids = { a: byUrl(cluster.a.base)!, b: byUrl(cluster.b.base)! };
    expect(ids.a && ids.b, `both instances registered: ${JSON.stringify(rows)}`).toBeTruthy();
  });

  test.afterAll(async () => {
    await context?.close();
    await cluster?.stop();
  });

  const ownerOf = async (sessionId: string) =>
    (await cluster.query<{ instance_id: string }>("SELECT instance_id FROM terminal_session_owners WHERE session_id = $1", [sessionId]))[0]?.instance_id ??
    null;

  // First, before any terminal is open: stopping the target ends the sessions on it.
  test("Stop and Start of the embedded target work on A, which does not run it (B does): A asks B and answers once it is done", async ({ playwright }) => {
    type Target = { id: string; kind: string; status: string; port: number | null; bootId?: string; sshCommand: string | null };
    const local = async () =>
      ((await (await context.request.get(`${cluster.a.base}/api/workspaces/${workspaceId}/targets`)).json()) as { targets: Target[] }).targets.find(
        (t) => t.kind === "local",
      )!;
    const before = await local();
    expect(before.status).toBe("live");
    const power = (verb: "stop" | "start", ctx = context.request) =>
      ctx.post(`${cluster.a.base}/api/workspaces/${workspaceId}/targets/${before.id}/${verb}`, { headers: { Origin: cluster.base } });

    // Who may is checked where the request lands, before anything is passed on.
    const anonymous = await playwright.request.newContext();
    try {
      expect((await power("stop", anonymous)).status()).toBe(401);
    } finally {
      await anonymous.dispose();
    }
    expect((await local()).status).toBe("live");

    // The Targets page through the balancer (pointing at A), as a person behind it uses it.
    cluster.balancer.switchTo(CLUSTER_PORTS.a);
    const targets = await context.newPage();
    try {
      await targets.goto(`/w/${workspaceId}/targets`);
      const row = targets.locator(`[data-testid="target-row"][data-target-id="${before.id}"]`);
      const stopped = targets.waitForResponse((r) => r.url().endsWith(`/targets/${before.id}/stop`));
      await row.getByRole("button", { name: "Stop local" }).click();
      expect((await stopped).status(), "answered by A once B stopped it").toBe(200);
      await expect(row).toHaveAttribute("data-status", "stopped");
      expect((await local()).status).toBe("stopped");

      const started = targets.waitForResponse((r) => r.url().endsWith(`/targets/${before.id}/start`));
      await row.getByRole("button", { name: "Start local" }).click();
      expect((await started).status()).toBe(200);
      await expect(row).toHaveAttribute("data-status", "live");
    } finally {
      await targets.close();
    }
    const after = await local();
    expect(after.status).toBe("live");
    expect(after.port, "a new boot: a new port").not.toBe(before.port);

    // The same through the API: the answer is the target as it now is.
    const res = await power("stop");
    expect(res.status(), await res.text()).toBe(200);
    expect(((await res.json()) as Target).status).toBe("stopped");
    const again = await power("start");
    expect(again.status(), await again.text()).toBe(200);
    expect(((await again.json()) as Target).status).toBe("live");
    // B did it, as asked by A; A runs no embedded target.
    expect(cluster.b.log()).toContain("embedded target power request from another instance");
    expect(cluster.a.log()).not.toContain("embedded target power request from another instance");
  });

  test("a session opened on A and resumed through B loses nothing and repeats nothing", async () => {
    page = await context.newPage();
    await page.goto("/");
    await expect(page).toHaveURL(/\/w\/[0-9a-f-]{36}$/);
    tab1 = await activeTabId(page);
    await waitTabLive(page, tab1);
    session1 = await sessionIdOf(page, tab1);
    expect(await ownerOf(session1), "the session lives on A, where its socket landed").toBe(ids.a);

    await recordStates(page, tab1);
    await run(page, tab1, "for i in $(seq 1 60); do echo line-$i; sleep 0.1; done");
    await expect.poll(async () => exactLine(await lines(page, tab1), "line-10")).toBe(1);
    // The balancer now sends everything to B, and the browser's socket is cut mid-output.
    const toB = cluster.balancer.counts[CLUSTER_PORTS.b] ?? 0;
    cluster.balancer.switchTo(CLUSTER_PORTS.b);
    cluster.balancer.dropAll();
    await expect.poll(async () => recordedStates(page, tab1)).toContain("reconnecting");
    await waitTabLive(page, tab1);
    expect(cluster.balancer.counts[CLUSTER_PORTS.b] ?? 0, "the resumed socket went to B").toBeGreaterThan(toB);
    await expect.poll(async () => exactLine(await lines(page, tab1), "line-60"), { timeout: 30_000 }).toBe(1);
    const all = await lines(page, tab1);
    const numbered = all.filter((l) => /^line-\d+$/.test(l)).map((l) => Number(l.slice(5)));
    expect(numbered, "every line exactly once, in order").toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    // Keystrokes cross the hop too, and the session never moved.
    expect(await runAndRead(page, tab1, "echo across-$((40+2))")).toEqual(["across-42"]);
    expect(await ownerOf(session1)).toBe(ids.a);
    expect(await sessionIdOf(page, tab1)).toBe(session1);
  });

  test("the internal endpoint refuses forged, foreign, replayed and missing grants", async () => {
    // A session of our own on A (its socket straight to A), to aim the probes at.
    const targets = (await (await context.request.get(`/api/workspaces/${workspaceId}/targets`)).json()) as { targets: { id: string; kind: string }[] };
    const targetId = targets.targets.find((t) => t.kind === "local")!.id;
    const cookie = (await context.cookies(cluster.base)).map((c) => `${c.name}=${c.value}`).join("; ");
    const t = await context.request.post(`${cluster.a.base}/api/workspaces/${workspaceId}/terminal/tickets`, {
      headers: { Origin: cluster.base },
      data: { targetId },
    });
    expect(t.status()).toBe(200);
    const ticket = (await t.json()) as { ticket: string; sessionId: string; path: string };
    const opened = await handshake(`${cluster.a.base.replace("http", "ws")}${ticket.path}?ticket=${ticket.ticket}`, { origin: cluster.base, cookie });
    expect(opened.status).toBe(101);
    const probeWs = opened.ws!;
    opened.client!.resize(80, 24);
    // The owner row is written as the session starts, a moment after the handshake.
    await expect.poll(() => ownerOf(ticket.sessionId)).toBe(ids.a);
    const userId = (await cluster.query<{ user_id: string }>("SELECT user_id FROM terminal_session_owners WHERE session_id = $1", [ticket.sessionId]))[0]!
      .user_id;
    const fields = { to: ids.a, sessionId: ticket.sessionId, workspaceId, targetId, userId, resume: 0 };
    const internalA = `${cluster.a.base.replace("http", "ws")}${INTERNAL}`;

    const refused = async (url: string, headers: Record<string, string>, what: string) => expect((await upgradeStatus(url, headers)).status, what).toBe(403);
    await refused(internalA, {}, "no grant");
    await refused(internalA, { [GRANT_HEADER]: "garbage" }, "junk");
    await refused(
      internalA,
      {
        [GRANT_HEADER]: `${Buffer.from(JSON.stringify({ v: 1, ...fields, exp: Date.now() + 5000, nonce: randomUUID() })).toString("base64url")}.${randomBytes(32).toString("base64url")}`,
      },
      "a made-up signature",
    );
    await refused(internalA, { [GRANT_HEADER]: grant(randomBytes(32).toString("base64url"), fields) }, "signed with another secret");
    await refused(internalA, { [GRANT_HEADER]: grant(cluster.internalSecret, { ...fields, to: ids.b }) }, "a grant for another instance");
    // Through the load balancer (where browsers come from), to the same endpoint on B.
    await refused(
      `${cluster.base.replace("http", "ws")}${INTERNAL}`,
      { [GRANT_HEADER]: grant(randomBytes(32).toString("base64url"), { ...fields, to: ids.b }), Origin: cluster.base, Cookie: cookie },
      "a browser through the balancer",
    );
    // A grant on the public path is no ticket.
    await refused(
      `${cluster.a.base.replace("http", "ws")}/ws/terminal`,
      { [GRANT_HEADER]: grant(cluster.internalSecret, fields), Origin: cluster.base, Cookie: cookie },
      "a grant without a ticket",
    );

    // The real thing works once (so the refusals above are not an endpoint that refuses everything).
    const good = grant(cluster.internalSecret, fields);
    const ok = await upgradeStatus(internalA, { [GRANT_HEADER]: good });
    expect(ok.status).toBe(101);
    await expect.poll(() => ok.client.states()).toContain("live");
    ok.ws!.close();
    await refused(internalA, { [GRANT_HEADER]: good }, "a replayed grant");
    expect(cluster.a.log()).toContain("internal terminal connection refused");
    probeWs.close();
    await context.request.delete(`${cluster.a.base}/api/workspaces/${workspaceId}/terminal/sessions/${ticket.sessionId}`, {
      headers: { Origin: cluster.base },
    });
  });

  test("a ticket made on A is used once, on B", async () => {
    const cookie = await cookieHeader(context);
    const { targets } = (await (await context.request.get(`${cluster.a.base}/api/workspaces/${workspaceId}/targets`)).json()) as {
      targets: { id: string; kind: string }[];
    };
    const target = targets.find((t) => t.kind === "local")!;
    const made = await context.request.post(`${cluster.a.base}/api/workspaces/${workspaceId}/terminal/tickets`, {
      headers: { Origin: cluster.base },
      data: { targetId: target.id },
    });
    expect(made.status(), await made.text()).toBe(200);
    const { ticket } = (await made.json()) as { ticket: string };
    const url = `ws://127.0.0.1:${CLUSTER_PORTS.b}/ws/terminal?ticket=${encodeURIComponent(ticket)}`;
    const first = await handshake(url, { origin: cluster.base, cookie });
    expect(first.status, "the ticket from A opens a terminal on B").toBe(101);
    first.ws?.close();
    const again = await handshake(url, { origin: cluster.base, cookie });
    expect(again.status, "and only once").not.toBe(101);
    const onA = await handshake(`ws://127.0.0.1:${CLUSTER_PORTS.a}/ws/terminal?ticket=${encodeURIComponent(ticket)}`, { origin: cluster.base, cookie });
    expect(onA.status, "nor again on A").not.toBe(101);
  });

  test("the sign-in limit holds across both instances", async ({ playwright }) => {
    // This cluster allows SIGNIN_MAX per window per address; attempts alternate between A and B.
    const attempt = async (base: string) => {
      const ctx = await playwright.request.newContext();
      try {
        return (
          await ctx.post(`${base}/api/auth/sign-in/email`, {
            headers: { Origin: cluster.base },
            data: { email: "cluster-owner@e2e.example", password: "not-the-password" },
          })
        ).status();
      } finally {
        await ctx.dispose();
      }
    };
    const statuses: number[] = [];
    for (let i = 0; i < SIGNIN_MAX + 2; i++) statuses.push(await attempt(i % 2 === 0 ? cluster.a.base : cluster.b.base));
    expect(
      statuses.slice(0, SIGNIN_MAX).every((s) => s === 401),
      statuses.join(","),
    ).toBe(true);
    expect(statuses.slice(SIGNIN_MAX), "past the limit on either instance").toEqual([429, 429]);
  });

  test("a key regenerated through B is refused at once by an OpenSSH target whose sshd asks A", async ({ sshd, keyDir }) => {
    test.skip(sshdUnavailable() !== null, sshdUnavailable() ?? "");
    const b = cluster.b.base;
    const reg = await context.request.post(`${b}/api/workspaces/${workspaceId}/targets`, {
      headers: { Origin: cluster.base },
      data: { name: "asks-a", host: "127.0.0.3", port: ASKS_A_PORT },
    });
    expect(reg.status(), await reg.text()).toBe(201);
    const body = (await reg.json()) as { target: { id: string }; install: Record<string, string> };
    // Installed as handed out, but pointed at instance A instead of the balancer.
    const conf = body.install["/etc/meshia/target.conf"]!.split(cluster.base).join(cluster.a.base);
    expect(conf).toContain(cluster.a.base);
    const target = sshd.target({
      name: `asks-a-${Date.now() % 100000}`,
      host: "127.0.0.3",
      port: ASKS_A_PORT,
      conf,
      dropIn: body.install["/etc/ssh/sshd_config.d/meshia.conf"],
    });
    await target.start();
    target.startAgent();
    try {
      await expect
        .poll(
          async () => ((await (await context.request.get(`${b}/api/workspaces/${workspaceId}/targets/${body.target.id}`)).json()) as { status: string }).status,
          { timeout: 20_000 },
        )
        .toBe("live");
      const first = await context.request.post(`${b}/api/workspaces/${workspaceId}/key`, { headers: { Origin: cluster.base } });
      expect(first.status()).toBe(200);
      const oldKey = writeKeyFile(keyDir, await first.text(), "old.pem");
      const ok = await ssh({ key: oldKey, host: "127.0.0.3", port: ASKS_A_PORT, command: "echo via-a" });
      expect(ok.stdout.trim(), ok.stderr).toBe("via-a");
      const second = await context.request.post(`${b}/api/workspaces/${workspaceId}/key`, { headers: { Origin: cluster.base } });
      expect(second.status()).toBe(200);
      const newKey = writeKeyFile(keyDir, await second.text(), "new.pem");
      // The very next login: A heard B's change (LISTEN/NOTIFY) before answering sshd.
      const refused = await ssh({ key: oldKey, host: "127.0.0.3", port: ASKS_A_PORT, command: "echo still-in" });
      expect(refused.code, refused.stdout).toBe(255);
      expect(refused.stderr).toContain("Permission denied");
      const fresh = await ssh({ key: newKey, host: "127.0.0.3", port: ASKS_A_PORT, command: "echo new-key" });
      expect(fresh.stdout.trim(), fresh.stderr).toBe("new-key");
    } finally {
      await target.stopAgent();
      await target.stop();
    }
  });

  test("kill A: its session ends in the tab with a clear status and offers a new one; B keeps serving", async () => {
    // A second tab, opened through B: its session lives on B.
    await page.getByRole("button", { name: "New terminal" }).click();
    await expect.poll(async () => (await activeTabId(page)) !== tab1).toBe(true);
    const tab2 = await activeTabId(page);
    await waitTabLive(page, tab2);
    const session2 = await sessionIdOf(page, tab2);
    expect(await ownerOf(session2)).toBe(ids.b);
    expect(await ownerOf(session1)).toBe(ids.a);

    await cluster.a.kill("SIGKILL");
    const status1 = view(page, tab1).getByTestId("terminal-status");
    await expect(status1).toHaveAttribute("data-state", "expired", { timeout: 30_000 });
    await expect(status1).toContainText("The server holding this session went away");
    // The ended tab is in the background (tab 2 is active): shown, it offers a new session.
    await selectTab(page, tab1);
    await expect(status1.getByRole("button", { name: "Start a new session" })).toBeVisible();

    // B serves on: its own session, its readiness, a new session in the ended tab.
    expect(await runAndRead(page, tab2, "echo still-$((6*7))")).toEqual(["still-42"]);
    expect((await context.request.get("/readyz")).status()).toBe(200);
    await selectTab(page, tab1);
    await status1.getByRole("button", { name: "Start a new session" }).click();
    // The tab starts over under a new id, in the same place.
    await expect.poll(async () => (await tabIds(page)).length).toBe(2);
    await expect.poll(async () => activeTabId(page)).not.toBe(tab1);
    const tab3 = await activeTabId(page);
    expect(tab3).not.toBe(tab2);
    await waitTabLive(page, tab3);
    const session3 = await sessionIdOf(page, tab3);
    expect(session3).not.toBe(session1);
    expect(await ownerOf(session3)).toBe(ids.b);
    expect(await runAndRead(page, tab3, "echo fresh-$((2+3))")).toEqual(["fresh-5"]);

    // Once A's heartbeat is older than the window, B removes A and closes its sessions' audit records.
    await expect.poll(async () => (await cluster.query("SELECT 1 FROM control_plane_instances WHERE id = $1", [ids.a])).length, { timeout: 30_000 }).toBe(0);
    expect(await ownerOf(session1)).toBeNull();
    const [audit] = await cluster.query<{ closed_at: Date | null; close_reason: string | null }>(
      "SELECT closed_at, close_reason FROM terminal_sessions WHERE id = $1",
      [session1],
    );
    expect(audit?.closed_at).not.toBeNull();
    expect(audit?.close_reason).toMatch(/went away/);
  });
});

test("a single instance (PGlite) has no internal endpoint: every internal upgrade is refused", async () => {
  const r = await upgradeStatus(`${e2e.baseURL.replace("http", "ws")}${INTERNAL}`, {
    [GRANT_HEADER]: grant(randomBytes(32).toString("base64url"), {
      to: randomUUID(),
      sessionId: randomUUID(),
      workspaceId: randomUUID(),
      targetId: randomUUID(),
      userId: null,
      resume: null,
    }),
  });
  expect(r.status).toBe(403);
});
