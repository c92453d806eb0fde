// The tenant boundaries, tried as a hostile signed-in user would, against the real
// route handlers, the real terminal gateway, a real embedded SSH target and the
// real database (PGlite and Postgres). Each test here failed on the code before
// per-target bridge credentials and the target network policy.
import { execFile } from "node:child_process";
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "@/db/testing";
import { type Auth, authGlobal } from "@/lib/auth/auth";
import { authHandler } from "@/lib/auth/http";
import { acceptInvitation, invite } from "@/lib/workspaces/invitations";
import { createToken } from "@/lib/workspaces/tokens";
import { defineRoute } from "@/lib/http/route";
import { loadOrCreateKeyFile } from "@/lib/keys/key-file";
import { authorizedKeys } from "@/lib/targets/authorized-keys";
import { LocalTarget } from "@/lib/targets/local/server";
import { sandboxForTests } from "@/lib/targets/local/testing";
import { findTarget, recordBoot, registerTarget } from "@/lib/targets/registry";
import { attachTerminalGateway } from "@/lib/terminal/server/gateway";
import type { ServerFrame } from "@/lib/terminal/protocol";
import { ProtocolClient } from "@/lib/terminal/testing/protocol-client";
import { sessionRegistry } from "@/lib/terminal/server/registry";
import { UNREACHABLE_MESSAGE } from "@/lib/terminal/server/shell-channel";
import { createWorkspace, type Role } from "@/lib/workspaces/workspaces";
import * as invitationsRoute from "./workspaces/[workspaceId]/invitations/route";
import * as membersRoute from "./workspaces/[workspaceId]/members/[userId]/route";
import * as targetsRoute from "./workspaces/[workspaceId]/targets/route";
import * as ticketsRoute from "./workspaces/[workspaceId]/terminal/tickets/route";
import * as bootRoute from "./targets/[targetId]/boot/route";
import * as rotateRoute from "./workspaces/[workspaceId]/targets/[targetId]/bridge-credential/route";
import { deriveBridgeKey } from "@/lib/ssh/bridge-credential";
import { BridgeConnectError, connectBridge } from "@/lib/ssh/bridge";
import { databaseGlobal } from "@/db/client";
import { cookieOf, setUpOwner, useTestAuth } from "@/lib/auth/testing";

const PASSWORD = "correct horse battery";
const log = pino({ level: "silent" });

type Route = ReturnType<typeof defineRoute>;

function sshKeyscan(host: string, port: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile("ssh-keyscan", ["-T", "5", "-p", String(port), host], (err, stdout) => {
      if (err && !stdout) return reject(err);
      resolve(
        stdout
          .split("\n")
          .filter((l) => l && !l.startsWith("#"))
          .map((l) => l.split(" ").slice(1).join(" ")),
      );
    });
  });
}

/** Everything a socket received until it closed (or `ms` passed). */
function terminalRun(url: string, headers: Record<string, string>, origin: string, commands: string[] = [], ms = 15_000) {
  const c = ProtocolClient.connect(url, { origin, headers, autoAck: false });
  return new Promise<{ status: number; frames: ServerFrame[]; output: string }>((resolve) => {
    const done = (status: number) => {
      clearTimeout(timer);
      resolve({ status, frames: c.frames, output: c.text() });
    };
    const timer = setTimeout(() => {
      c.ws.terminate();
      done(101);
    }, ms);
    c.ws.on("unexpected-response", (_req, res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    c.ws.on("open", () => {
      c.resize(80, 24);
      for (const command of commands) c.type(command);
    });
    c.onOutput = () => {
      if (/__SHELL_OK__/.test(c.text())) c.ws.close();
    };
    c.ws.on("close", () => done(101));
  });
}

describe.each(testDatabases())("tenant boundaries on $name", (tdb) => {
  let handle: Awaited<ReturnType<typeof tdb.open>>;
  let auth: Auth;
  const dir = mkdtempSync(path.join(os.tmpdir(), "meshia-boundaries-"));
  let server: http.Server;
  let origin = "";
  let wsBase = "";
  let victimTarget: LocalTarget;
  let victimTargetId = "";
  let wsA = ""; // the victim's workspace, with the embedded target
  let owner = { id: "", cookie: "" };
  let attacker = { id: "", cookie: "" };

  const call = async (
    route: Route,
    method: "GET" | "POST" | "DELETE",
    url: string,
    params: Record<string, string>,
    init: { headers?: Record<string, string>; body?: unknown } = {},
  ) => {
    const headers: Record<string, string> = { host: new URL(origin).host, ...init.headers };
    if (init.body !== undefined) headers["content-type"] = "application/json";
    const res = await route[method](
      new Request(`${origin}${url}`, { method, headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) }),
      {
        params: Promise.resolve(params),
      },
    );
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: body as Record<string, unknown> & { error?: { code: string; message: string; details?: Record<string, unknown> } } };
  };
  const newPerson = async (workspace: { id: string; name: string }, email: string, role: Role) => {
    const inv = await invite(handle.db, workspace as Parameters<typeof invite>[1], { email, role, inviterId: owner.id });
    const joined = await acceptInvitation(handle.db, auth, inv.id, { newAccount: { name: email.split("@")[0]!, password: PASSWORD } });
    const res = await auth.api.signInEmail({ body: { email, password: PASSWORD }, returnHeaders: true });
    return { id: res.response.user.id, cookie: cookieOf(res.headers), joinedHeaders: joined.headers };
  };
  const ticket = async (workspaceId: string, targetId: string, headers: Record<string, string>) =>
    call(ticketsRoute as unknown as Route, "POST", `/api/workspaces/${workspaceId}/terminal/tickets`, { workspaceId }, { headers, body: { targetId } });
  const socketUrl = (t: string) => `${wsBase}/ws/terminal?ticket=${encodeURIComponent(t)}`;

  beforeAll(async () => {
    handle = await tdb.open();
    databaseGlobal.set(Promise.resolve(handle));
    auth = useTestAuth(handle.db);

    server = http.createServer();
    attachTerminalGateway(server, log);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    origin = `http://127.0.0.1:${port}`;
    wsBase = `ws://127.0.0.1:${port}`;

    const setup = await setUpOwner(handle.db, auth, { password: PASSWORD });
    wsA = setup.workspaceId;
    owner = { id: setup.userId, cookie: setup.cookie };

    // The victim's embedded target, on an address the test configuration lets targets be at (127.0.0.2).
    const { target: row } = await registerTarget(handle.db, { workspaceId: wsA, name: "local", kind: "local", host: "127.0.0.2" });
    victimTargetId = row.id;
    const hostKey = loadOrCreateKeyFile(path.join(dir, "host_ed25519"), "host");
    const { sandbox, volume } = await sandboxForTests(dir);
    victimTarget = new LocalTarget({
      listenHost: "127.0.0.2",
      ports: { from: 26000, to: 26999 },
      hostKey,
      volume,
      sandbox,
      log,
      allowedKeys: async (user) => {
        const t = await findTarget(handle.db, victimTargetId);
        return t ? authorizedKeys(handle.db, t, user, { liveWindowMs: 60_000 }) : [];
      },
    });
    const boot = await victimTarget.start();
    await recordBoot(handle.db, row, { bootId: boot.bootId, port: boot.port, hostKeys: [hostKey.publicKey] });

    // The attacker: any account at all (here, invited into a workspace of their own
    // making is not possible, so into a throwaway one), who then makes a workspace.
    const throwaway = await createWorkspace(handle.db, { name: "Throwaway", ownerId: owner.id });
    const a = await newPerson(throwaway, "mallory@example.com", "member");
    attacker = { id: a.id, cookie: a.cookie };
  }, 300_000); // two password hashes, a database and a target: slow on a busy 2-core machine

  afterAll(async () => {
    await sessionRegistry().closeAll("test over");
    await victimTarget?.stop();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    rmSync(dir, { recursive: true, force: true });
    databaseGlobal.resetForTests();
    authGlobal.resetForTests();
    await handle?.dispose();
  });

  it("the owner's own terminal on the embedded target works (the control for the attacks below)", async () => {
    const t = await ticket(wsA, victimTargetId, { cookie: owner.cookie });
    expect(t.status).toBe(200);
    const run = await terminalRun(socketUrl(t.body.ticket as string), { cookie: owner.cookie }, origin, ['echo __SHELL""_OK__\r']);
    expect(run.output).toContain("__SHELL_OK__");
    await sessionRegistry()
      .get(t.body.sessionId as string)
      ?.close("done");
  });

  it("a target registered at another workspace's target's address, with its host key pinned, gets no shell: the bridge credential is that target's own", async () => {
    const wsMallory = (await createWorkspace(handle.db, { name: "Mallory's", ownerId: attacker.id })).id;
    const reg = await call(
      targetsRoute as unknown as Route,
      "POST",
      `/api/workspaces/${wsMallory}/targets`,
      { workspaceId: wsMallory },
      {
        headers: { cookie: attacker.cookie },
        body: { name: "not-yours", host: "127.0.0.2", port: victimTarget.port },
      },
    );
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    const targetId = (reg.body.target as { id: string }).id;
    // One ssh-keyscan is all it takes to pin the victim's host key.
    const hostKeys = await sshKeyscan("127.0.0.2", victimTarget.port);
    expect(hostKeys.length).toBeGreaterThan(0);
    const boot = await call(
      bootRoute as unknown as Route,
      "POST",
      `/api/targets/${targetId}/boot`,
      { targetId },
      {
        headers: { authorization: `Bearer ${reg.body.token as string}` },
        body: { bootId: "stolen-boot", port: victimTarget.port, hostKeys },
      },
    );
    expect(boot.status, JSON.stringify(boot.body)).toBe(200);
    const t = await ticket(wsMallory, targetId, { cookie: attacker.cookie });
    expect(t.status).toBe(200);
    const run = await terminalRun(socketUrl(t.body.ticket as string), { cookie: attacker.cookie }, origin, ['echo __SHELL""_OK__\r']);
    expect(run.output).not.toContain("__SHELL_OK__");
    expect(run.frames.filter((f) => f.type === "output")).toEqual([]);
    expect(run.frames).toContainEqual({ type: "error", code: "unreachable", message: UNREACHABLE_MESSAGE });
  });

  it("registering a target on loopback, link-local or the control plane's own address is refused with 400 naming host", async () => {
    const wsMallory = (await createWorkspace(handle.db, { name: "Mallory's 2", ownerId: attacker.id })).id;
    const own = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && !a.internal && a.family === "IPv4")?.address;
    const hosts = [
      "127.0.0.1",
      "127.0.0.9",
      "localhost",
      "api.localhost",
      "::1",
      "::ffff:127.0.0.1",
      "0.0.0.0",
      "169.254.169.254",
      "fe80::1",
      ...(own ? [own] : []),
    ];
    for (const host of hosts) {
      const res = await call(
        targetsRoute as unknown as Route,
        "POST",
        `/api/workspaces/${wsMallory}/targets`,
        { workspaceId: wsMallory },
        {
          headers: { cookie: attacker.cookie },
          body: { name: "probe", host, port: 22 },
        },
      );
      expect(res.status, `${host}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.error?.message, host).toMatch(/^host: /);
      expect(JSON.stringify(res.body.error?.details), host).toContain('"field":"host"');
    }
    // Nothing was stored for any of them.
    const list = await call(
      targetsRoute as unknown as Route,
      "GET",
      `/api/workspaces/${wsMallory}/targets`,
      { workspaceId: wsMallory },
      { headers: { cookie: attacker.cookie } },
    );
    expect(list.body.targets).toEqual([]);
  });

  it("failures read the same whatever the cause: closed port, wrong host key, refused credential", async () => {
    const wsMallory = (await createWorkspace(handle.db, { name: "Mallory's 3", ownerId: attacker.id })).id;
    const closed = await new Promise<number>((resolve) => {
      const s = http.createServer().listen(0, "127.0.0.3", () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const victimHostKeys = await sshKeyscan("127.0.0.2", victimTarget.port);
    const otherKey = loadOrCreateKeyFile(path.join(dir, "other_ed25519"), "other").publicKey;
    const cases = [
      { name: "closed-port", host: "127.0.0.3", port: closed, hostKeys: victimHostKeys },
      { name: "wrong-host-key", host: "127.0.0.2", port: victimTarget.port, hostKeys: [otherKey] },
      { name: "refused-credential", host: "127.0.0.2", port: victimTarget.port, hostKeys: victimHostKeys },
    ];
    const errors: unknown[] = [];
    for (const c of cases) {
      const reg = await call(
        targetsRoute as unknown as Route,
        "POST",
        `/api/workspaces/${wsMallory}/targets`,
        { workspaceId: wsMallory },
        {
          headers: { cookie: attacker.cookie },
          body: { name: c.name, host: c.host, port: c.port },
        },
      );
      expect(reg.status).toBe(201);
      const id = (reg.body.target as { id: string }).id;
      await call(
        bootRoute as unknown as Route,
        "POST",
        `/api/targets/${id}/boot`,
        { targetId: id },
        {
          headers: { authorization: `Bearer ${reg.body.token as string}` },
          body: { bootId: `b-${c.name}`, port: c.port, hostKeys: c.hostKeys },
        },
      );
      const t = await ticket(wsMallory, id, { cookie: attacker.cookie });
      const run = await terminalRun(socketUrl(t.body.ticket as string), { cookie: attacker.cookie }, origin);
      const shown = run.frames.filter((f) => f.type === "error" || (f.type === "status" && f.state !== "connecting"));
      errors.push(shown);
    }
    expect(errors[0]).toEqual([
      { type: "error", code: "unreachable", message: UNREACHABLE_MESSAGE },
      { type: "status", state: "ended", detail: UNREACHABLE_MESSAGE },
    ]);
    expect(errors[1]).toEqual(errors[0]);
    expect(errors[2]).toEqual(errors[0]);
  });

  it("a ticket is used by the principal it was issued to: another workspace's API token of the same person is refused", async () => {
    const wsX = (await createWorkspace(handle.db, { name: "Owner's other", ownerId: owner.id })).id;
    const tokenX = await createToken(handle.db, auth, { userId: owner.id, workspaceId: wsX, name: "x-only" });
    const tokenA = await createToken(handle.db, auth, { userId: owner.id, workspaceId: wsA, name: "a-only" });
    // A ticket for A (issued to the browser session), used with the token scoped to X.
    const t1 = await ticket(wsA, victimTargetId, { cookie: owner.cookie });
    expect((await terminalRun(socketUrl(t1.body.ticket as string), { authorization: `Bearer ${tokenX.token}` }, origin, [], 5000)).status).toBe(403);
    // A ticket issued to A's token, used with the browser session: another principal.
    const t2 = await ticket(wsA, victimTargetId, { authorization: `Bearer ${tokenA.token}` });
    expect(t2.status).toBe(200);
    expect((await terminalRun(socketUrl(t2.body.ticket as string), { cookie: owner.cookie }, origin, [], 5000)).status).toBe(403);
    // The token a ticket was issued to opens it.
    const t3 = await ticket(wsA, victimTargetId, { authorization: `Bearer ${tokenA.token}` });
    const ok = await terminalRun(socketUrl(t3.body.ticket as string), { authorization: `Bearer ${tokenA.token}` }, origin, ['echo __SHELL""_OK__\r']);
    expect(ok.output).toContain("__SHELL_OK__");
    await sessionRegistry()
      .get(t3.body.sessionId as string)
      ?.close("done");
  });

  it("removing a member revokes their API tokens for that workspace: invited again, the old token stays dead", async () => {
    const ws = { id: wsA, name: "Default workspace" };
    const m = await newPerson(ws, "mia@example.com", "member");
    const tok = await createToken(handle.db, auth, { userId: m.id, workspaceId: wsA, name: "mia's" });
    const asToken = { authorization: `Bearer ${tok.token}` };
    expect((await call(targetsRoute as unknown as Route, "GET", `/api/workspaces/${wsA}/targets`, { workspaceId: wsA }, { headers: asToken })).status).toBe(
      200,
    );
    const removed = await call(
      membersRoute as unknown as Route,
      "DELETE",
      `/api/workspaces/${wsA}/members/${m.id}`,
      { workspaceId: wsA, userId: m.id },
      {
        headers: { cookie: owner.cookie },
      },
    );
    expect(removed.status).toBe(204);
    const again = await invite(handle.db, ws as Parameters<typeof invite>[1], { email: "mia@example.com", role: "member", inviterId: owner.id });
    await acceptInvitation(handle.db, auth, again.id, { userId: m.id, email: "mia@example.com" });
    expect(
      (
        await call(
          targetsRoute as unknown as Route,
          "GET",
          `/api/workspaces/${wsA}/targets`,
          { workspaceId: wsA },
          { headers: m.cookie ? { cookie: m.cookie } : {} },
        )
      ).status,
    ).toBe(200);
    expect((await call(targetsRoute as unknown as Route, "GET", `/api/workspaces/${wsA}/targets`, { workspaceId: wsA }, { headers: asToken })).status).toBe(
      401,
    );
  });

  it("a Host header that does not name this server never reaches an install command or an invitation link", async () => {
    const hostile = ['x"$(touch${IFS}/tmp/pwned)"', "evil.example", "evil.example:3000", "127.0.0.1:3000 evil"];
    for (const host of hostile) {
      const reg = await call(
        targetsRoute as unknown as Route,
        "POST",
        `/api/workspaces/${wsA}/targets`,
        { workspaceId: wsA },
        {
          headers: { cookie: owner.cookie, host },
          body: { name: "hosty", host: "192.0.2.50", port: 22 },
        },
      );
      expect(reg.status, host).toBe(400);
      expect(reg.body.error?.message, host).toMatch(/MESHIA_PUBLIC_URL/);
      expect(JSON.stringify(reg.body), host).not.toContain("evil.example");
      expect(JSON.stringify(reg.body), host).not.toContain("pwned");
      const inv = await call(
        invitationsRoute as unknown as Route,
        "POST",
        `/api/workspaces/${wsA}/invitations`,
        { workspaceId: wsA },
        {
          headers: { cookie: owner.cookie, host },
          body: { email: "hostile@example.com" },
        },
      );
      expect(inv.status, host).toBe(400);
      expect(JSON.stringify(inv.body), host).not.toContain("evil.example");
    }
    // Nothing was registered by the refused requests.
    const list = await call(
      targetsRoute as unknown as Route,
      "GET",
      `/api/workspaces/${wsA}/targets`,
      { workspaceId: wsA },
      { headers: { cookie: owner.cookie } },
    );
    expect((list.body.targets as { name: string }[]).some((t) => t.name === "hosty")).toBe(false);
    // A Host that names this server is used as given.
    const ok = await call(
      targetsRoute as unknown as Route,
      "POST",
      `/api/workspaces/${wsA}/targets`,
      { workspaceId: wsA },
      {
        headers: { cookie: owner.cookie },
        body: { name: "hosty", host: "192.0.2.50", port: 22 },
      },
    );
    expect(ok.status).toBe(201);
    expect(JSON.stringify(ok.body.install)).toContain(`MESHIA_URL=${origin}\\n`);
  });

  it("rotating a target's bridge credential refuses the old one at the next login and ends its terminals; only owners may", async () => {
    const before = (await findTarget(handle.db, victimTargetId))!;
    const oldKey = deriveBridgeKey(process.env.MESHIA_BRIDGE_SECRET!, before.id, before.bridgeGeneration).privateKey;
    const pinned = { address: "127.0.0.2", port: victimTarget.port, user: "mesh", isPinned: () => true };
    (await connectBridge(pinned, { privateKey: oldKey })).end(); // works before
    const t = await ticket(wsA, victimTargetId, { cookie: owner.cookie });
    const open = terminalRun(socketUrl(t.body.ticket as string), { cookie: owner.cookie }, origin, [], 10_000);
    await new Promise((r) => setTimeout(r, 1500));
    const url = `/api/workspaces/${wsA}/targets/${victimTargetId}/bridge-credential`;
    const params = { workspaceId: wsA, targetId: victimTargetId };
    const m = await newPerson({ id: wsA, name: "Default workspace" }, "rotator@example.com", "member");
    expect((await call(rotateRoute as unknown as Route, "POST", url, params, { headers: { cookie: m.cookie } })).status).toBe(403);
    expect((await call(rotateRoute as unknown as Route, "POST", url, params, { headers: { cookie: attacker.cookie } })).status).toBe(404);
    const rotated = await call(rotateRoute as unknown as Route, "POST", url, params, { headers: { cookie: owner.cookie } });
    expect(rotated.status).toBe(200);
    expect(rotated.body.bridgeGeneration).toBe(before.bridgeGeneration + 1);
    const ended = await open;
    expect(ended.frames.some((f) => f.type === "status" && f.state === "ended" && /rotated/.test(f.detail ?? ""))).toBe(true);
    const refused = await connectBridge(pinned, { privateKey: oldKey }).then(
      (c) => (c.end(), null),
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(BridgeConnectError);
    expect((refused as BridgeConnectError).reason).toBe("auth_refused");
    // A new terminal uses the new credential.
    const t2 = await ticket(wsA, victimTargetId, { cookie: owner.cookie });
    const ok = await terminalRun(socketUrl(t2.body.ticket as string), { cookie: owner.cookie }, origin, ['echo __SHELL""_OK__\r']);
    expect(ok.output).toContain("__SHELL_OK__");
    await sessionRegistry()
      .get(t2.body.sessionId as string)
      ?.close("done");
  });

  it("session tokens appear in no JSON body: sign-in and get-session answer without them, and the cookie still works", async () => {
    const route = defineRoute({ GET: authHandler, POST: authHandler });
    const signIn = await route.POST(
      new Request(`${origin}/api/auth/sign-in/email`, {
        method: "POST",
        headers: { "content-type": "application/json", origin, host: new URL(origin).host, "x-forwarded-for": "10.1.2.3" },
        body: JSON.stringify({ email: "owner@example.com", password: PASSWORD }),
      }),
      { params: Promise.resolve({}) },
    );
    expect(signIn.status).toBe(200);
    const cookie = cookieOf(signIn.headers);
    const sessionToken = decodeURIComponent(/meshia\.session_token=([^;]+)/.exec(cookie)![1]!).split(".")[0]!;
    const signInBody = await signIn.text();
    expect(signInBody).not.toContain(sessionToken);
    expect(signInBody).not.toMatch(/"token"/);
    const session = await route.GET(new Request(`${origin}/api/auth/get-session`, { headers: { cookie, host: new URL(origin).host } }), {
      params: Promise.resolve({}),
    });
    expect(session.status).toBe(200);
    const sessionBody = await session.text();
    expect(JSON.parse(sessionBody).user.email).toBe("owner@example.com");
    expect(sessionBody).not.toContain(sessionToken);
    expect(sessionBody).not.toMatch(/"token"/);
  });
});
