// Accounts and access, end to end: the one-time setup link, signing in and out,
// sessions that are not ours, tenant isolation between workspaces, what members may
// not do, cross-origin refusals, API tokens, invitations, the audit page, security
// headers and the CSP, and the sign-in rate limit. Real browser, real API, real
// WebSocket; every person but the owner is invited and accepts as a real invitee would.
import { PKCS1_BEGIN } from "../lib/keys/workspace-key";
import http from "node:http";
import type { APIRequestContext, APIResponse, Page } from "@playwright/test";
import { addPerson, cookieHeader, createWorkspace, invite, newBrowserContext, newRequest, signIn, uniqueEmail, whoAmI, type Person } from "./support/auth";
import { e2e } from "./support/env";
import { expect, test, waitLive } from "./support/fixtures";
import { cspViolations, recordResponse } from "./support/record";
import { handshake, issueTicket, localTarget, runAndRead, activeTabId, wsUrl } from "./support/terminal";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NOWHERE = "00000000-0000-4000-8000-000000000000";

async function expectError(res: APIResponse, status: number, code: string, what = ""): Promise<void> {
  expect(res.status(), `${what} ${res.url()}: ${await res.text()}`).toBe(status);
  expect(res.headers()["content-type"], what).toContain("application/json");
  const body = (await res.json()) as { error: Record<string, unknown> };
  expect(Object.keys(body), what).toEqual(["error"]);
  expect(body.error, what).toMatchObject({ code, message: expect.any(String) });
}

async function json<T>(res: APIResponse): Promise<T> {
  expect(res.ok(), `${res.url()}: ${res.status()} ${await res.text()}`).toBe(true);
  return (await res.json()) as T;
}

// ---- the cast, made once per worker ------------------------------------------------

interface Cast {
  owner: APIRequestContext;
  ownerId: string;
  /** The default workspace: the owner's, with the embedded `local` target. */
  wsA: string;
  localTargetId: string;
  /** Member (role member) of A. */
  member: Person;
  /** Owner of workspace B; not in A. */
  bOwner: Person;
  wsB: string;
  targetB: string;
  invitationB: string;
  tokenB: string;
}
let cast: Cast;

test.beforeAll(async ({ playwright }) => {
  const owner = await newRequest(playwright, e2e.ownerState);
  const ownerId = (await whoAmI(owner)).id;
  const { workspaces } = await json<{ workspaces: { id: string; name: string }[] }>(await owner.get("/api/workspaces"));
  const wsA = workspaces[0]!.id;
  const { targets } = await json<{ targets: { id: string; name: string; kind: string }[] }>(await owner.get(`/api/workspaces/${wsA}/targets`));
  const localTargetId = targets.find((t) => t.kind === "local")!.id;
  const member = await addPerson(playwright, owner, wsA, "member", "member");

  // B's owner needs an account, which takes an invitation; then they leave A.
  const bOwner = await addPerson(playwright, owner, wsA, "member", "bowner");
  const wsB = await createWorkspace(bOwner.request, "Workspace B");
  expect((await owner.delete(`/api/workspaces/${wsA}/members/${bOwner.userId}`)).status()).toBe(204);
  const targetB = (
    await json<{ target: { id: string } }>(
      await bOwner.request.post(`/api/workspaces/${wsB}/targets`, { data: { name: "b-box", host: "192.0.2.10", port: 22 } }),
    )
  ).target.id;
  const invitationB = (await invite(bOwner.request, wsB, uniqueEmail("b-invitee"))).id;
  const tokenB = (await json<{ id: string }>(await bOwner.request.post(`/api/workspaces/${wsB}/tokens`, { data: { name: "b-script" } }))).id;
  expect((await bOwner.request.post(`/api/workspaces/${wsB}/key`)).status()).toBe(200);
  cast = { owner, ownerId, wsA, localTargetId, member, bOwner, wsB, targetB, invitationB, tokenB };
});

test.afterAll(async () => {
  for (const r of [cast?.owner, cast?.member.request, cast?.bOwner.request]) await r?.dispose();
});

/** What B looks like to its owner: nothing any test here may change. */
async function stateOfB(): Promise<string> {
  const r = cast.bOwner.request;
  const parts = await Promise.all(
    ["", "/key", "/targets", "/members", "/invitations", "/tokens"].map(async (p) => {
      const body = (await json<Record<string, unknown>>(await r.get(`/api/workspaces/${cast.wsB}${p}`))) as Record<string, unknown>;
      // Refreshes on every read; not a change.
      if (Array.isArray(body.tokens)) for (const t of body.tokens as Record<string, unknown>[]) delete t.lastUsedAt;
      if (Array.isArray(body.targets)) for (const t of body.targets as Record<string, unknown>[]) delete t.lastSeenAt;
      return JSON.stringify(body);
    }),
  );
  return parts.join("\n");
}

async function keyFingerprint(request: APIRequestContext, ws: string): Promise<string | null> {
  const res = await request.get(`/api/workspaces/${ws}/key`);
  if (res.status() === 404) return null;
  return (await json<{ fingerprint: string }>(res)).fingerprint;
}

// ---- the setup link, signing in and out ------------------------------------------------

test.describe("the setup link and sessions", () => {
  test("the setup link works once: after setup it is refused in the UI and the API, and / sends signed-out people to sign in", async ({
    browser,
    playwright,
  }) => {
    const anon = await newRequest(playwright);
    await expectError(
      await anon.post("/api/setup", { data: { token: e2e.setupToken, name: "Second", email: uniqueEmail("second"), password: "second-password-1" } }),
      404,
      "not_found",
    );
    // Nobody was created by that attempt.
    expect(
      (
        await anon.post("/api/auth/sign-in/email", { data: { email: "second@e2e.example", password: "second-password-1" }, headers: { Origin: e2e.origin } })
      ).status(),
    ).toBe(401);
    await anon.dispose();

    const ctx = await newBrowserContext(browser);
    const page = await ctx.newPage();
    await page.goto(`/setup?token=${e2e.setupToken}`);
    await expect(page.getByText("Setup is already done.")).toBeVisible();
    await expect(page.getByRole("button", { name: "Create the owner account" })).toHaveCount(0);
    await page.getByRole("link", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/sign-in$/);
    await page.goto("/");
    await expect(page).toHaveURL(/\/sign-in$/);
    await page.goto(`/w/${cast.wsA}/targets`);
    await expect(page).toHaveURL(`/sign-in?next=${encodeURIComponent(`/w/${cast.wsA}/targets`)}`);
    await ctx.close();
  });

  test("sign in through the UI (wrong password first); sign-out ends that session: its cookie gets 401, its page goes to sign-in, its WebSocket 403", async ({
    browser,
    playwright,
    baseURL,
  }) => {
    const ctx = await newBrowserContext(browser);
    const page = await ctx.newPage();
    await page.goto(`/w/${cast.wsA}`);
    await expect(page).toHaveURL(`/sign-in?next=${encodeURIComponent(`/w/${cast.wsA}`)}`);
    await page.getByLabel("Email").fill(cast.member.email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "Invalid email or password" })).toBeVisible();

    await page.getByLabel("Password").fill(cast.member.password);
    const [signInResponse] = await Promise.all([page.waitForResponse("**/api/auth/sign-in/email"), page.getByRole("button", { name: "Sign in" }).click()]);
    expect(signInResponse.status()).toBe(200);
    const setCookie = (await signInResponse.headerValue("set-cookie")) ?? "";
    expect(setCookie).toMatch(/meshia\.session_token=[^;]+;/);
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Lax");
    await expect(page).toHaveURL(`/w/${cast.wsA}`);
    await waitLive(page);

    const cookie = await cookieHeader(ctx);
    // From a context with no cookies of its own: only the one given is sent.
    const bare = await newRequest(playwright);
    const probe = (c: string) => bare.get("/api/workspaces", { headers: { Cookie: c } });
    expect((await probe(cookie)).status()).toBe(200);

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/sign-in$/);
    // The old cookie is dead on the server, not just forgotten by the browser.
    await expectError(await probe(cookie), 401, "unauthorized");
    await page.goto(`/w/${cast.wsA}`);
    await expect(page).toHaveURL(/\/sign-in\?next=/);
    // A ticket the member could have got before: the handshake with the dead cookie is refused.
    const ticket = await issueTicket(cast.member.request, { id: cast.wsA, name: "" }, { targetId: cast.localTargetId });
    const refused = await handshake(wsUrl(baseURL!, ticket), { cookie, origin: e2e.origin });
    expect(refused.status).toBe(403);
    // Other sessions of that person live on.
    expect((await cast.member.request.get("/api/workspaces")).status()).toBe(200);
    await bare.dispose();
    await ctx.close();
  });

  test("sign-in's `next` never leaves the site, however it is spelled", async ({ browser, request }) => {
    const outside = [
      "//evil.example/",
      "/\\evil.example/",
      "/\t/evil.example/",
      "https://evil.example/",
      "/%5Cevil.example/",
      "\\\\evil.example/",
      // Dot segments normalise to "//evil.example/phish".
      "/.//evil.example/phish",
      "/..//evil.example/phish",
      "/%2e%2e//evil.example/phish",
      "/%2E/..//evil.example/phish",
    ];
    // Already signed in: the server redirects at once.
    for (const next of outside) {
      const res = await request.get(`/sign-in?next=${encodeURIComponent(next)}`, { maxRedirects: 0 });
      expect(res.status(), next).toBe(307);
      const location = new URL(res.headers()["location"]!, e2e.baseURL);
      expect(location.origin, `${next} → ${res.headers()["location"]}`).toBe(e2e.origin);
    }
    // Signing in: the page sends the browser on.
    const ctx = await newBrowserContext(browser);
    for (const next of outside) {
      const page = await ctx.newPage();
      await page.route(
        (u) => u.hostname === "evil.example",
        (route) => route.fulfill({ status: 200, body: "left the site" }),
      );
      await page.goto(`/sign-in?next=${encodeURIComponent(next)}`);
      await page.getByLabel("Email").fill(cast.member.email);
      await page.getByLabel("Password").fill(cast.member.password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL((u) => !u.pathname.startsWith("/sign-in"));
      expect(new URL(page.url()).origin, `${next} → ${page.url()}`).toBe(e2e.origin);
      await ctx.clearCookies();
      await page.close();
    }
    await ctx.close();
  });

  test("a tampered or made-up session cookie gets 401, and the terminal handshake 403", async ({ request, playwright, baseURL }) => {
    const bare = await newRequest(playwright);
    const real = (await request.storageState()).cookies.find((c) => c.name === "meshia.session_token")!;
    const [token, signature] = decodeURIComponent(real.value).split(".") as [string, string];
    // A character in the middle: the last base64 character before "=" partly holds
    // padding bits, and changing only those leaves the same signature bytes.
    const flip = (s: string) => s.slice(0, 10) + (s[10] === "A" ? "B" : "A") + s.slice(11);
    const fakes = {
      "signature changed": `${token}.${flip(signature)}`,
      "token changed": `${flip(token)}.${signature}`,
      "no signature": token,
      "made up": `${"x".repeat(32)}.${"y".repeat(43)}=`,
    };
    const target = await localTarget(request, { id: cast.wsA, name: "" });
    for (const [what, value] of Object.entries(fakes)) {
      const cookie = `meshia.session_token=${encodeURIComponent(value)}`;
      await expectError(await bare.get(`/api/workspaces/${cast.wsA}/targets`, { headers: { Cookie: cookie } }), 401, "unauthorized", what);
      await expectError(await bare.post(`/api/workspaces/${cast.wsA}/key`, { headers: { Cookie: cookie } }), 401, "unauthorized", what);
      // The ticket is the owner's, the cookie is not (a session that does not exist).
      const ticket = await issueTicket(request, { id: cast.wsA, name: "" }, { targetId: target.id });
      const h = await handshake(wsUrl(baseURL!, ticket), { cookie, origin: e2e.origin });
      expect(h.status, what).toBe(403);
      await request.delete(`/api/workspaces/${cast.wsA}/terminal/sessions/${ticket.sessionId}`);
    }
    // The real cookie still works, sent the same way.
    expect((await bare.get(`/api/workspaces/${cast.wsA}/targets`, { headers: { Cookie: `meshia.session_token=${real.value}` } })).status()).toBe(200);
    await bare.dispose();
  });
});

// ---- tenant isolation ---------------------------------------------------------------------

test.describe("tenant isolation", () => {
  test("a member of A (and A's owner) get 404, never 403, for everything of B — by B's id or by B's object ids through A", async ({ request }) => {
    const before = await stateOfB();
    const b = `/api/workspaces/${cast.wsB}`;
    const a = `/api/workspaces/${cast.wsA}`;
    const probes: [method: "get" | "post" | "delete", url: string, data?: unknown][] = [
      ["get", b],
      ["get", `${b}/key`],
      ["post", `${b}/key`],
      ["delete", `${b}/key`],
      ["get", `${b}/targets`],
      ["post", `${b}/targets`, { name: "x", host: "192.0.2.1", port: 22 }],
      ["get", `${b}/targets/${cast.targetB}`],
      ["delete", `${b}/targets/${cast.targetB}`],
      ["post", `${b}/terminal/tickets`, { targetId: cast.targetB }],
      ["delete", `${b}/terminal/sessions/${NOWHERE}`],
      ["get", `${b}/members`],
      ["delete", `${b}/members/${cast.bOwner.userId}`],
      ["get", `${b}/invitations`],
      ["post", `${b}/invitations`, { email: uniqueEmail("x"), role: "owner" }],
      ["delete", `${b}/invitations/${cast.invitationB}`],
      ["get", `${b}/audit`],
      ["get", `${b}/tokens`],
      ["post", `${b}/tokens`, { name: "x" }],
      ["delete", `${b}/tokens/${cast.tokenB}`],
    ];
    // B's objects through A's routes: answered exactly as a made-up id is (nothing
    // tells that B's object exists). For A's owner that is 404; for A's member the
    // owner-only routes say 403 before looking at any id at all.
    const throughA: [method: "get" | "post" | "delete", url: (id: string) => string, data?: (id: string) => unknown][] = [
      ["get", (id) => `${a}/targets/${id}`],
      ["delete", (id) => `${a}/targets/${id}`],
      ["post", () => `${a}/terminal/tickets`, (id) => ({ targetId: id })],
      ["delete", (id) => `${a}/invitations/${id}`],
      ["delete", (id) => `${a}/tokens/${id}`],
      ["delete", (id) => `${a}/members/${id}`],
    ];
    const idsOfB = [cast.targetB, cast.targetB, cast.targetB, cast.invitationB, cast.tokenB, cast.bOwner.userId];
    for (const [who, ctx] of [
      ["member of A", cast.member.request],
      ["owner of A", request],
    ] as const) {
      for (const [method, url, data] of probes) {
        const res = await ctx[method](url, data === undefined ? {} : { data });
        await expectError(res, 404, "not_found", `${who}: ${method.toUpperCase()}`);
      }
      for (const [i, [method, url, data]] of throughA.entries()) {
        const answer = async (id: string) => {
          const res = await ctx[method](url(id), data ? { data: data(id) } : {});
          return `${res.status()} ${((await res.json()) as { error: { code: string } }).error.code}`;
        };
        const what = `${who}: ${method.toUpperCase()} ${url("<B's id>")}`;
        const forB = await answer(idsOfB[i]!);
        expect(forB, what).toBe(await answer(NOWHERE));
        if (who === "owner of A") expect(forB, what).toBe("404 not_found");
      }
      // B is not in their list either.
      const { workspaces } = await json<{ workspaces: { id: string }[] }>(await ctx.get("/api/workspaces"));
      expect(workspaces.map((w) => w.id)).not.toContain(cast.wsB);
    }
    expect(await stateOfB()).toBe(before);
  });

  test("WebSocket: no ticket for B can be had, and a ticket of A's owner is refused to B's owner and to A's member (403)", async ({ request, baseURL }) => {
    await expectError(await cast.member.request.post(`/api/workspaces/${cast.wsB}/terminal/tickets`, { data: { targetId: cast.targetB } }), 404, "not_found");
    for (const [who, person] of [
      ["B's owner", cast.bOwner],
      ["A's member", cast.member],
    ] as const) {
      const ticket = await issueTicket(request, { id: cast.wsA, name: "" }, { targetId: cast.localTargetId });
      const h = await handshake(wsUrl(baseURL!, ticket), { cookie: await cookieHeader(person.request), origin: e2e.origin });
      expect(h.status, who).toBe(403);
      if (h.ws === null) expect(JSON.parse(h.body), who).toMatchObject({ error: { code: "forbidden" } });
      // Refused and spent: not even its holder can use it now.
      expect((await handshake(wsUrl(baseURL!, ticket), { cookie: await cookieHeader(request), origin: e2e.origin })).status, who).toBe(403);
    }
  });

  test("in the browser, B's pages are not found for A's member and A's owner", async ({ browser, page }) => {
    const memberCtx = await newBrowserContext(browser, cast.member.request);
    const memberPage = await memberCtx.newPage();
    for (const p of [memberPage, page]) {
      for (const sub of ["", "/targets", "/members", "/tokens", "/audit"]) {
        const res = await p.goto(`/w/${cast.wsB}${sub}`);
        expect(res?.status(), sub).toBe(404);
        await expect(p.getByRole("heading", { name: "Not found" })).toBeVisible();
        await expect(p.getByText("There is no such workspace here.")).toBeVisible();
        await expect(p.getByText("Workspace B")).toHaveCount(0);
      }
    }
    // B's own owner sees it.
    const bCtx = await newBrowserContext(browser, cast.bOwner.request);
    const bPage = await bCtx.newPage();
    await bPage.goto(`/w/${cast.wsB}/targets`);
    await expect(bPage.getByText("Workspace B")).toBeVisible();
    await expect(bPage.getByTestId("target-row")).toHaveCount(1);
    await memberCtx.close();
    await bCtx.close();
  });
});

// ---- roles --------------------------------------------------------------------------------

test.describe("members (role member)", () => {
  test("cannot regenerate or revoke the key, register or remove targets, invite, or remove members: 403 JSON, nothing changes", async ({ request }) => {
    const a = `/api/workspaces/${cast.wsA}`;
    if ((await keyFingerprint(request, cast.wsA)) === null) expect((await request.post(`${a}/key`)).status()).toBe(200);
    const pending = await invite(request, cast.wsA, uniqueEmail("pending"));
    const snapshot = async () =>
      JSON.stringify([
        await keyFingerprint(request, cast.wsA),
        (await json<{ targets: { id: string }[] }>(await request.get(`${a}/targets`))).targets.map((t) => t.id),
        await json(await request.get(`${a}/members`)),
        (await json<{ invitations: { id: string }[] }>(await request.get(`${a}/invitations`))).invitations.map((i) => i.id),
      ]);
    const before = await snapshot();
    const m = cast.member.request;
    const refused: [method: "get" | "post" | "delete", url: string, data?: unknown][] = [
      ["post", `${a}/key`],
      ["delete", `${a}/key`],
      ["post", `${a}/targets`, { name: "nope", host: "192.0.2.2", port: 22 }],
      ["delete", `${a}/targets/${cast.localTargetId}`],
      ["get", `${a}/invitations`],
      ["post", `${a}/invitations`, { email: uniqueEmail("nope"), role: "member" }],
      ["delete", `${a}/invitations/${pending.id}`],
      ["delete", `${a}/members/${cast.ownerId}`],
    ];
    for (const [method, url, data] of refused) {
      await expectError(await m[method](url, data === undefined ? {} : { data }), 403, "forbidden", `member ${method.toUpperCase()}`);
    }
    expect(await snapshot()).toBe(before);
    // What members may do: read, and open terminals.
    expect((await m.get(`${a}/key`)).status()).toBe(200);
    expect((await m.get(`${a}/targets`)).status()).toBe(200);
    expect((await m.get(`${a}/members`)).status()).toBe(200);
    expect((await m.get(`${a}/audit`)).status()).toBe(200);
    const ticket = await issueTicket(m, { id: cast.wsA, name: "" }, { targetId: cast.localTargetId });
    expect(ticket.ticket.length).toBeGreaterThan(20);
    // Someone else's terminal session is not theirs to end or resume: it does not exist for them.
    const owners = await issueTicket(request, { id: cast.wsA, name: "" }, { targetId: cast.localTargetId });
    const h = await handshake(wsUrl(e2e.baseURL, owners), { cookie: await cookieHeader(request), origin: e2e.origin });
    expect(h.status).toBe(101);
    h.ws?.close();
    await expectError(await m.delete(`${a}/terminal/sessions/${owners.sessionId}`), 404, "not_found");
    await expectError(await m.post(`${a}/terminal/tickets`, { data: { targetId: cast.localTargetId, sessionId: owners.sessionId } }), 404, "not_found");
    expect((await request.delete(`${a}/terminal/sessions/${owners.sessionId}`)).status()).toBe(204);
    expect((await request.delete(`${a}/invitations/${pending.id}`)).status()).toBe(204);
  });

  test("the key dialog offers members no Generate, Regenerate or Revoke; they open a terminal and copy the command", async ({ browser, request }) => {
    const ctx = await newBrowserContext(browser, cast.member.request);
    await ctx.grantPermissions(["clipboard-read", "clipboard-write"]);
    const page = await ctx.newPage();
    const dialogOf = async (p: Page) => {
      await p.getByRole("button", { name: "SSH access" }).click();
      const dialog = p.getByRole("dialog", { name: "SSH access" });
      await expect(dialog).toBeVisible();
      return dialog;
    };

    // No key yet: the member is told to ask an owner.
    const a = `/api/workspaces/${cast.wsA}`;
    if ((await keyFingerprint(request, cast.wsA)) !== null) expect((await request.delete(`${a}/key`)).status()).toBe(200);
    await page.goto("/");
    await expect(page).toHaveURL(`/w/${cast.wsA}`);
    await waitLive(page);
    let dialog = await dialogOf(page);
    await expect(dialog.getByText("This workspace has no key yet. Ask a workspace owner to generate one.")).toBeVisible();
    for (const name of ["Generate", "Regenerate", "Revoke"]) await expect(dialog.getByRole("button", { name, exact: true })).toHaveCount(0);
    await page.keyboard.press("Escape");

    // With a key: its fingerprint, still no way to change it.
    const fp = (await request.post(`${a}/key`)).headers()["x-key-fingerprint"];
    dialog = await dialogOf(page);
    await expect(dialog.getByTestId("key-fingerprint")).toHaveText(fp!);
    for (const name of ["Generate", "Regenerate", "Revoke", "Download meshia_key.pem"])
      await expect(dialog.getByRole("button", { name, exact: true })).toHaveCount(0);
    await expect(dialog.getByText("Only workspace owners can regenerate or revoke the key")).toBeVisible();
    const target = await localTarget(cast.member.request, { id: cast.wsA, name: "" });
    await dialog.getByRole("button", { name: "Copy command" }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(target.sshCommand);
    await page.keyboard.press("Escape");

    // The terminal is theirs to use.
    const tab = await activeTabId(page);
    expect(await runAndRead(page, tab, "echo member-$((20+1)); whoami")).toEqual(["member-21", "mesh"]);

    // Their pages show no owner controls.
    await page.goto(`/w/${cast.wsA}/members`);
    await expect(page.getByRole("heading", { name: "Members" })).toBeVisible();
    await expect(page.getByRole("button", { name: "Invite" })).toHaveCount(0);
    await expect(page.getByRole("button", { name: /^Remove / })).toHaveCount(0);
    await page.goto(`/w/${cast.wsA}/targets`);
    await expect(page.getByTestId("target-row").first()).toBeVisible();
    await expect(page.getByRole("button", { name: "Add target" })).toHaveCount(0);
    await ctx.close();
  });
});

test.describe("removing a member", () => {
  test("ends their open terminal at once; their tickets, pages and API calls stop working", async ({ browser, page, playwright, baseURL }) => {
    const person = await addPerson(playwright, cast.owner, cast.wsA, "member", "leaving");
    const ctx = await newBrowserContext(browser, person.request);
    const theirs = await ctx.newPage();
    await theirs.goto(`/w/${cast.wsA}`);
    await waitLive(theirs);
    const tab = await activeTabId(theirs);
    expect(await runAndRead(theirs, tab, "echo still-$((1+2))")).toEqual(["still-3"]);
    const spare = await issueTicket(person.request, { id: cast.wsA, name: "" }, { targetId: cast.localTargetId });

    // The owner removes them on the members page.
    await page.goto(`/w/${cast.wsA}/members`);
    await page.getByRole("button", { name: `Remove ${person.email}` }).click();
    await page.getByRole("button", { name: `Remove ${person.email}` }).click(); // the confirmation
    await expect(page.getByRole("row", { name: new RegExp(person.email.replace(/[.+]/g, "\\$&")) })).toHaveCount(0);

    const status = theirs.locator('.terminal-view:not([hidden]) [data-testid="terminal-status"]');
    await expect(status).toHaveAttribute("data-state", "ended");
    await expect(status).toContainText("You are no longer a member of this workspace.");
    // A ticket they got while a member opens nothing now.
    expect((await handshake(wsUrl(baseURL!, spare), { cookie: await cookieHeader(person.request), origin: e2e.origin })).status).toBe(403);
    await expectError(await person.request.post(`/api/workspaces/${cast.wsA}/terminal/tickets`, { data: { targetId: cast.localTargetId } }), 404, "not_found");
    expect((await theirs.goto(`/w/${cast.wsA}`))?.status()).toBe(404);
    // Still signed in, just without a workspace.
    await theirs.goto("/");
    await expect(theirs.getByText("You are not a member of any workspace.")).toBeVisible();
    await person.request.dispose();
    await ctx.close();
  });
});

// ---- cross-origin ------------------------------------------------------------------------------

test.describe("cross-origin requests", () => {
  test("a POST or DELETE from another origin is 403 on every state-changing route, and so is the terminal handshake; nothing changes", async ({
    request,
    playwright,
    baseURL,
  }) => {
    const a = `/api/workspaces/${cast.wsA}`;
    if ((await keyFingerprint(request, cast.wsA)) === null) expect((await request.post(`${a}/key`)).status()).toBe(200);
    // Real ids everywhere, so a 403 cannot be a 404 in disguise.
    const inv = await invite(request, cast.wsA, uniqueEmail("xorigin"));
    const token = await json<{ id: string }>(await request.post(`${a}/tokens`, { data: { name: "xorigin" } }));
    const reg = await json<{ target: { id: string }; token: string }>(
      await request.post(`${a}/targets`, { data: { name: "xorigin-box", host: "192.0.2.3", port: 22 } }),
    );
    const session = await issueTicket(request, { id: cast.wsA, name: "" }, { targetId: cast.localTargetId });
    const snapshot = async () =>
      JSON.stringify([
        await keyFingerprint(request, cast.wsA),
        (await json<{ targets: { id: string }[] }>(await request.get(`${a}/targets`))).targets.map((t) => t.id).sort(),
        (await json<{ members: unknown[] }>(await request.get(`${a}/members`))).members,
        (await json<{ invitations: { id: string }[] }>(await request.get(`${a}/invitations`))).invitations.map((i) => i.id).sort(),
        (await json<{ tokens: { id: string }[] }>(await request.get(`${a}/tokens`))).tokens.map((t) => t.id).sort(),
        (await json<{ workspaces: { id: string }[] }>(await request.get("/api/workspaces"))).workspaces.map((w) => w.id).sort(),
      ]);
    const before = await snapshot();

    const evil = { Origin: "http://evil.example" };
    const targetAuth = { ...evil, Authorization: `Bearer ${reg.token}` };
    const boot = { bootId: "11111111-1111-4111-8111-111111111111", port: 22, hostKeys: [] };
    const anon = await newRequest(playwright);
    const cases: [APIRequestContext, "post" | "delete", string, unknown, Record<string, string>][] = [
      [request, "post", "/api/workspaces", { name: "evil" }, evil],
      [request, "post", `${a}/key`, undefined, evil],
      [request, "delete", `${a}/key`, undefined, evil],
      [request, "post", `${a}/targets`, { name: "evil", host: "192.0.2.4", port: 22 }, evil],
      [request, "delete", `${a}/targets/${reg.target.id}`, undefined, evil],
      [request, "post", `${a}/terminal/tickets`, { targetId: cast.localTargetId }, evil],
      [request, "delete", `${a}/terminal/sessions/${session.sessionId}`, undefined, evil],
      [request, "post", `${a}/invitations`, { email: uniqueEmail("evil"), role: "owner" }, evil],
      [request, "delete", `${a}/invitations/${inv.id}`, undefined, evil],
      [request, "delete", `${a}/members/${cast.member.userId}`, undefined, evil],
      [request, "post", `${a}/tokens`, { name: "evil" }, evil],
      [request, "delete", `${a}/tokens/${token.id}`, undefined, evil],
      [anon, "post", "/api/setup", { token: e2e.setupToken, name: "Evil", email: uniqueEmail("evil"), password: "evil-password-1" }, evil],
      [anon, "post", `/api/invitations/${inv.id}/accept`, { name: "Evil", password: "evil-password-1" }, evil],
      [anon, "post", "/api/auth/sign-in/email", { email: e2e.owner.email, password: e2e.owner.password }, evil],
      [request, "post", "/api/auth/sign-out", {}, evil],
      [request, "post", "/api/auth/change-password", { currentPassword: e2e.owner.password, newPassword: "evil-password-1" }, evil],
      [anon, "post", `/api/targets/${reg.target.id}/boot`, boot, targetAuth],
      [anon, "post", `/api/targets/${reg.target.id}/heartbeat`, { bootId: boot.bootId }, targetAuth],
      [anon, "post", `/api/targets/${reg.target.id}/stop`, { bootId: boot.bootId }, targetAuth],
    ];
    for (const [ctx, method, url, data, headers] of cases) {
      const res = await ctx[method](url, { headers, ...(data === undefined ? {} : { data }) });
      await expectError(res, 403, "forbidden", `${method.toUpperCase()} ${url}`);
    }
    await anon.dispose();

    // The WebSocket: a valid ticket and the owner's cookie, from another origin.
    const h = await handshake(wsUrl(baseURL!, session), { cookie: await cookieHeader(request), origin: "http://evil.example" });
    expect(h.status).toBe(403);
    // An opaque origin (sandboxed frame, file://) is no better.
    const opaque = await issueTicket(request, { id: cast.wsA, name: "" }, { targetId: cast.localTargetId });
    expect((await handshake(wsUrl(baseURL!, opaque), { cookie: await cookieHeader(request), origin: "null" })).status).toBe(403);

    expect(await snapshot()).toBe(before);
    expect((await request.get("/api/workspaces")).status()).toBe(200);
    // Tidy up what this test made.
    expect((await request.delete(`${a}/targets/${reg.target.id}`)).status()).toBe(204);
    expect((await request.delete(`${a}/invitations/${inv.id}`)).status()).toBe(204);
    expect((await request.delete(`${a}/tokens/${token.id}`)).status()).toBe(204);
  });
});

// ---- API tokens ----------------------------------------------------------------------------------

test.describe("API tokens", () => {
  test("created in the UI (shown once), they act as their creator in their own workspace only, and stop at revoke", async ({ page, request, playwright }) => {
    const other = await createWorkspace(request, "Token elsewhere");
    await page.goto(`/w/${cast.wsA}/tokens`);
    await page.getByLabel("Name").fill("ci-deploy");
    await page.getByRole("button", { name: "Create token" }).click();
    const shown = page.getByTestId("new-token");
    await expect(shown).toHaveText(/^mshk_[A-Za-z0-9]{20,}$/);
    const token = (await shown.textContent())!;
    await expect(page.getByRole("row", { name: /ci-deploy/ })).toBeVisible();
    await page.reload();
    await expect(page.getByRole("row", { name: /ci-deploy/ })).toBeVisible();
    await expect(page.getByTestId("new-token")).toHaveCount(0);
    expect(await page.content()).not.toContain(token);

    // A script: no cookie, only the token.
    const script = await newRequest(playwright);
    const bearer = { Authorization: `Bearer ${token}` };
    const targets = await script.get(`/api/workspaces/${cast.wsA}/targets`, { headers: bearer });
    expect(targets.status()).toBe(200);
    expect(((await targets.json()) as { targets: { kind: string }[] }).targets.some((t) => t.kind === "local")).toBe(true);
    // With its creator's role: an owner's token generates the key.
    const key = await script.post(`/api/workspaces/${cast.wsA}/key`, { headers: bearer });
    expect(key.status()).toBe(200);
    expect(await key.text()).toContain(PKCS1_BEGIN);
    expect(await keyFingerprint(request, cast.wsA)).toBe(key.headers()["x-key-fingerprint"]);
    // Its own workspace only: another of the owner's, and someone else's, do not exist for it.
    for (const ws of [other, cast.wsB]) {
      await expectError(await script.get(`/api/workspaces/${ws}/targets`, { headers: bearer }), 404, "not_found");
      await expectError(await script.post(`/api/workspaces/${ws}/key`, { headers: bearer }), 404, "not_found");
    }
    expect((await json<{ workspaces: { id: string }[] }>(await script.get("/api/workspaces", { headers: bearer }))).workspaces.map((w) => w.id)).toEqual([
      cast.wsA,
    ]);
    // Tokens act within one workspace: no new workspaces, no new tokens.
    await expectError(await script.post("/api/workspaces", { headers: bearer, data: { name: "by token" } }), 403, "forbidden");
    await expectError(await script.post(`/api/workspaces/${cast.wsA}/tokens`, { headers: bearer, data: { name: "by token" } }), 403, "forbidden");
    // Pages are for people: a token is no browser session.
    expect((await script.get(`/w/${cast.wsA}`, { headers: bearer, maxRedirects: 0 })).status()).toBe(307);

    await page.getByRole("button", { name: "Revoke ci-deploy" }).click();
    await page.getByRole("button", { name: "Revoke ci-deploy" }).click(); // the confirmation
    await expect(page.getByRole("row", { name: /ci-deploy/ })).toHaveCount(0);
    await expectError(await script.get(`/api/workspaces/${cast.wsA}/targets`, { headers: bearer }), 401, "unauthorized");
    await expectError(await script.post(`/api/workspaces/${cast.wsA}/key`, { headers: bearer }), 401, "unauthorized");
    await script.dispose();
  });

  test("a member's token has the member's role; removing the member revokes it, and it stays dead when they are invited back", async ({
    request,
    playwright,
  }) => {
    const person = await addPerson(playwright, request, cast.wsA, "member", "tokenmember");
    const created = await json<{ token: string }>(await person.request.post(`/api/workspaces/${cast.wsA}/tokens`, { data: { name: "member-script" } }));
    const script = await newRequest(playwright);
    const bearer = { Authorization: `Bearer ${created.token}` };
    expect((await script.get(`/api/workspaces/${cast.wsA}/targets`, { headers: bearer })).status()).toBe(200);
    await expectError(await script.post(`/api/workspaces/${cast.wsA}/key`, { headers: bearer }), 403, "forbidden");
    expect((await request.delete(`/api/workspaces/${cast.wsA}/members/${person.userId}`)).status()).toBe(204);
    await expectError(await script.get(`/api/workspaces/${cast.wsA}/targets`, { headers: bearer }), 401, "unauthorized");
    // Invited again and back in: the token made before the removal does not come back.
    const again = await invite(request, cast.wsA, person.email);
    expect((await person.request.post(`/api/invitations/${again.id}/accept`, { data: {} })).status()).toBe(200);
    expect((await person.request.get(`/api/workspaces/${cast.wsA}/targets`)).status()).toBe(200);
    await expectError(await script.get(`/api/workspaces/${cast.wsA}/targets`, { headers: bearer }), 401, "unauthorized");
    expect((await request.delete(`/api/workspaces/${cast.wsA}/members/${person.userId}`)).status()).toBe(204);
    await script.dispose();
    await person.request.dispose();
  });
});

// ---- invitations ---------------------------------------------------------------------------------

test.describe("invitations", () => {
  test("the owner invites on the members page; the link makes the account and lands in the workspace; then it no longer works", async ({
    page,
    browser,
    playwright,
  }) => {
    const email = uniqueEmail("invitee");
    await page.goto(`/w/${cast.wsA}/members`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Role").selectOption("member");
    await page.getByRole("button", { name: "Invite" }).click();
    const row = page.getByRole("row", { name: new RegExp(email.replace(/[.+]/g, "\\$&")) });
    const link = (await row.getByTestId("invitation-link").textContent())!.trim();
    expect(link).toMatch(new RegExp(`^${e2e.baseURL}/invite/[0-9a-f-]{36}$`));

    const ctx = await newBrowserContext(browser);
    const invitee = await ctx.newPage();
    await invitee.goto(link);
    await expect(invitee.getByText(`You are invited to join Default workspace as a member, as ${email}.`)).toBeVisible();
    await expect(invitee.getByLabel("Email")).toHaveValue(email);
    await invitee.getByLabel("Your name").fill("Ivy Invitee");
    await invitee.getByLabel(/^Choose a password/).fill("ivy-password-123");
    await invitee.getByRole("button", { name: "Create account and join" }).click();
    await expect(invitee).toHaveURL(`/w/${cast.wsA}`);
    await expect(invitee.locator(".workspace-header")).toContainText("Ivy Invitee");
    await waitLive(invitee);

    // Used: the link says so, and the API refuses it (signed out and signed in).
    const used = await ctx.newPage();
    await used.goto(link);
    await expect(used.getByText("This invitation is not valid any more")).toBeVisible();
    const id = link.split("/").at(-1)!;
    const anon = await newRequest(playwright);
    await expectError(await anon.post(`/api/invitations/${id}/accept`, { data: { name: "Again", password: "again-password-1" } }), 404, "not_found");
    await expectError(await anon.get(`/api/invitations/${id}`), 404, "not_found");
    await anon.dispose();

    // The owner sees the new member, and no pending invitation.
    await page.reload();
    await expect(page.getByRole("row", { name: new RegExp(`Ivy Invitee.*member`) })).toBeVisible();
    await expect(page.getByTestId("invitation-link").filter({ hasText: id })).toHaveCount(0);
    // And can remove them.
    await page.getByRole("button", { name: `Remove ${email}` }).click();
    await page.getByRole("button", { name: `Remove ${email}` }).click(); // the confirmation
    await expect(page.getByRole("row", { name: /Ivy Invitee/ })).toHaveCount(0);
    await ctx.close();
  });

  test("someone who already has an account signs in from the invitation and joins", async ({ browser, request, playwright }) => {
    // A person with an account elsewhere (in another of the owner's workspaces).
    const elsewhere = await createWorkspace(request, "Invite elsewhere");
    const person = await addPerson(playwright, request, elsewhere, "member", "existing");
    const inv = await invite(request, cast.wsA, person.email);
    const ctx = await newBrowserContext(browser);
    const page = await ctx.newPage();
    await page.goto(`/invite/${inv.id}`);
    await expect(page.getByText(`${person.email} already has an account`)).toBeVisible();
    await page.getByRole("link", { name: "sign in" }).click();
    await expect(page).toHaveURL(`/sign-in?next=${encodeURIComponent(`/invite/${inv.id}`)}`);
    await page.getByLabel("Email").fill(person.email);
    await page.getByLabel("Password").fill(person.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(`/invite/${inv.id}`);
    await expect(page.getByText(`You are signed in as ${person.email}.`)).toBeVisible();
    await page.getByRole("button", { name: "Join the workspace" }).click();
    await expect(page).toHaveURL(`/w/${cast.wsA}`);
    await waitLive(page);
    // Both workspaces are theirs now: the header offers a switch.
    await expect(page.getByRole("combobox", { name: "Workspace" })).toHaveValue(cast.wsA);
    expect((await request.delete(`/api/workspaces/${cast.wsA}/members/${person.userId}`)).status()).toBe(204);
    await person.request.dispose();
    await ctx.close();
  });

  test("an invitation for another email refuses a signed-in different person, in the UI and the API", async ({ browser, request }) => {
    const email = uniqueEmail("someone-else");
    const inv = await invite(request, cast.wsA, email);
    const ctx = await newBrowserContext(browser, cast.member.request);
    const page = await ctx.newPage();
    await page.goto(`/invite/${inv.id}`);
    await expect(page.getByText(`You are signed in as ${cast.member.email}.`)).toBeVisible();
    await page.getByRole("button", { name: "Join the workspace" }).click();
    await expect(page.getByRole("alert").filter({ hasText: `This invitation is for ${email}` })).toBeVisible();
    await expect(page).toHaveURL(`/invite/${inv.id}`);
    await expectError(await cast.member.request.post(`/api/invitations/${inv.id}/accept`, { data: {} }), 403, "forbidden");
    // Still pending, for its real addressee; the owner cancels it in the UI.
    const owner = await ctx.browser()!.newContext({ baseURL: e2e.baseURL, storageState: e2e.ownerState });
    const ownerPage = await owner.newPage();
    await ownerPage.goto(`/w/${cast.wsA}/members`);
    await ownerPage.getByRole("button", { name: `Cancel the invitation of ${email}` }).click();
    await ownerPage.getByRole("button", { name: `Cancel the invitation of ${email}` }).click(); // the confirmation
    await expect(ownerPage.getByText(email)).toHaveCount(0);
    await page.reload();
    await expect(page.getByText("This invitation is not valid any more")).toBeVisible();
    await owner.close();
    await ctx.close();
  });
});

// ---- audit -----------------------------------------------------------------------------------------

test.describe("audit", () => {
  test("the audit page shows sign-ins, key generated/regenerated/revoked (who, fingerprint), target registered, and terminal sessions (who, target, when, how long, exit code)", async ({
    page,
    request,
    playwright,
    baseURL,
  }) => {
    const a = `/api/workspaces/${cast.wsA}`;
    const t0 = Date.now();
    // A sign-in.
    (await signIn(playwright, cast.member.email, cast.member.password)).dispose();
    // Key events, each with its fingerprint.
    if ((await keyFingerprint(request, cast.wsA)) !== null) expect((await request.delete(`${a}/key`)).status()).toBe(200);
    const generated = (await request.post(`${a}/key`)).headers()["x-key-fingerprint"]!;
    const regenerated = (await request.post(`${a}/key`)).headers()["x-key-fingerprint"]!;
    expect((await request.delete(`${a}/key`)).status()).toBe(200);
    // A target registered.
    const reg = await json<{ target: { id: string } }>(await request.post(`${a}/targets`, { data: { name: "audit-probe", host: "192.0.2.7", port: 2200 } }));
    // A terminal session that ends with exit code 7.
    const ticket = await issueTicket(request, { id: cast.wsA, name: "" }, { targetId: cast.localTargetId });
    const h = await handshake(wsUrl(baseURL!, ticket), { cookie: await cookieHeader(request), origin: e2e.origin });
    if (!h.client) throw new Error(`handshake refused: ${h.status}`);
    const got = h.client;
    got.resize(80, 24);
    got.type("sleep 1; exit 7\r");
    await expect.poll(() => got.framesOf("exit")).toEqual([expect.objectContaining({ code: 7 })]);
    await got.whenClosed;
    // The session row is written when it ends: wait for it through the API.
    await expect
      .poll(
        async () =>
          (await json<{ sessions: { id: string; exitCode: number | null }[] }>(await request.get(`${a}/audit`))).sessions.find((s) => s.id === ticket.sessionId)
            ?.exitCode,
      )
      .toBe(7);

    await page.goto(`/w/${cast.wsA}`);
    await page.getByRole("navigation", { name: "Workspace" }).getByRole("link", { name: "Audit" }).click();
    await expect(page).toHaveURL(`/w/${cast.wsA}/audit`);
    const events = page.getByTestId("audit-events").locator("tbody tr");
    const event = (action: string, ...text: string[]) => {
      let rows = events.filter({ has: page.locator("code", { hasText: new RegExp(`^${action.replace(".", "\\.")}$`) }) });
      for (const t of text) rows = rows.filter({ hasText: t });
      return rows.first();
    };
    await expect(event("auth.signed-in", cast.member.email)).toBeVisible();
    await expect(event("key.generated", e2e.owner.email, `fingerprint: ${generated}`)).toBeVisible();
    await expect(event("key.regenerated", e2e.owner.email, `fingerprint: ${regenerated}`, `replaced: ${generated}`)).toBeVisible();
    await expect(event("key.revoked", e2e.owner.email, `fingerprint: ${regenerated}`)).toBeVisible();
    await expect(event("target.registered", e2e.owner.email, "name: audit-probe")).toBeVisible();
    await expect(event("member.joined", cast.member.email)).toBeVisible();
    // When: each row's time is the event's, in the test's window.
    const when = Date.parse((await event("key.revoked").locator("time").getAttribute("datetime"))!);
    expect(when).toBeGreaterThanOrEqual(t0 - 1000);
    expect(when).toBeLessThanOrEqual(Date.now());

    const session = (await json<{ sessions: { id: string; openedAt: string; durationSeconds: number }[] }>(await request.get(`${a}/audit`))).sessions.find(
      (s) => s.id === ticket.sessionId,
    )!;
    const row = page
      .getByTestId("audit-sessions")
      .locator("tbody tr")
      .filter({ has: page.locator(`time[datetime="${session.openedAt}"]`) });
    await expect(row).toHaveCount(1);
    const cells = row.locator("td");
    await expect(cells.nth(1)).toHaveText(e2e.owner.email);
    await expect(cells.nth(2)).toHaveText("local");
    await expect(cells.nth(3)).toHaveText(`${session.durationSeconds} s`);
    expect(session.durationSeconds).toBeGreaterThanOrEqual(1);
    await expect(cells.nth(4)).toHaveText("code 7");
    expect(Date.parse(session.openedAt)).toBeGreaterThanOrEqual(t0 - 1000);

    // Members see the trail too, but only their own workspace's.
    const m = await json<{ events: { action: string }[] }>(await cast.member.request.get(`${a}/audit`));
    expect(m.events.some((e) => e.action === "key.revoked")).toBe(true);
    const bTrail = await json<{ events: { action: string; actorEmail: string | null }[] }>(await cast.bOwner.request.get(`/api/workspaces/${cast.wsB}/audit`));
    // Nothing A's owner did shows in B's trail (nor A's member's sign-ins).
    expect(bTrail.events.filter((e) => e.actorEmail === e2e.owner.email || e.actorEmail === cast.member.email)).toEqual([]);
    expect(bTrail.events.map((e) => e.action)).toContain("key.generated");

    expect((await request.delete(`${a}/targets/${reg.target.id}`)).status()).toBe(204);
  });
});

// ---- headers, CSP, cookies ----------------------------------------------------------------------

test.describe("security headers", () => {
  function expectSecurityHeaders(headers: Record<string, string>, what: string): void {
    const csp = headers["content-security-policy"] ?? "";
    const directives: Record<string, string[]> = Object.fromEntries(
      csp
        .split(";")
        .map((d) => d.trim().split(/\s+/))
        .map(([k, ...v]) => [k, v]),
    );
    expect(directives["default-src"], what).toEqual(["'self'"]);
    expect(directives["frame-ancestors"], what).toEqual(["'none'"]);
    expect(directives["connect-src"], what).toEqual(["'self'", `ws://127.0.0.1:${e2e.port}`, `wss://127.0.0.1:${e2e.port}`]);
    expect(directives["object-src"], what).toEqual(["'none'"]);
    // Scripts only by nonce, and nothing that would let injected markup run.
    expect(
      directives["script-src"]?.some((s) => /^'nonce-[A-Za-z0-9+/=]+'$/.test(s)),
      what,
    ).toBe(true);
    expect(directives["script-src"], what).not.toContain("'unsafe-inline'");
    expect(directives["script-src"], what).not.toContain("'unsafe-eval'");
    expect(headers["x-content-type-options"], what).toBe("nosniff");
    expect(headers["referrer-policy"], what).toBe("no-referrer");
    expect(headers["x-frame-options"], what).toBe("DENY");
  }

  test("pages and API responses carry the CSP, nosniff and no-referrer; session cookies are httpOnly and SameSite=Lax", async ({ request, playwright }) => {
    const anon = await newRequest(playwright);
    for (const [ctx, url] of [
      [request, `/w/${cast.wsA}`],
      [anon, "/sign-in"],
      [request, "/api/workspaces"],
      [anon, "/api/workspaces"],
      [request, `/api/workspaces/${cast.wsA}/targets`],
      [anon, "/api/auth/get-session"],
    ] as const) {
      const res = await ctx.get(url);
      expect(res.status(), url).toBeLessThan(500);
      expectSecurityHeaders(res.headers(), url);
    }
    // The Host header is the client's to write: it cannot add sources or directives.
    for (const host of [`127.0.0.1:${e2e.port}; script-src 'unsafe-inline' *`, `127.0.0.1:${e2e.port} *`, "evil.example"]) {
      const csp = await new Promise<string>((resolve, reject) => {
        http
          .get(`${e2e.baseURL}/sign-in`, { headers: { Host: host } }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
              const list = Object.entries(res.headers).flatMap(([name, v]) =>
                (Array.isArray(v) ? v : [v ?? ""]).map((value) => ({ name, value: String(value) })),
              );
              recordResponse(
                { source: "request", method: "GET", url: `${e2e.baseURL}/sign-in`, status: res.statusCode ?? 0, headers: list },
                Buffer.concat(chunks),
              );
              resolve(String(res.headers["content-security-policy"] ?? ""));
            });
          })
          .on("error", reject);
      });
      const connect = csp
        .split(";")
        .map((d) => d.trim())
        .filter((d) => d.startsWith("connect-src"));
      expect(connect, host).toEqual(["connect-src 'self'"]);
      expect(
        csp.split(";").filter((d) => d.trim().startsWith("script-src")),
        host,
      ).toHaveLength(1);
      expect(csp, host).not.toContain("*");
    }
    // Two pages never share a nonce.
    const nonce = async () => /'nonce-([^']+)'/.exec((await anon.get("/sign-in")).headers()["content-security-policy"] ?? "")?.[1];
    expect(await nonce()).not.toBe(await nonce());

    const signInRes = await anon.post("/api/auth/sign-in/email", {
      data: { email: cast.member.email, password: cast.member.password },
      headers: { Origin: e2e.origin },
    });
    expect(signInRes.status()).toBe(200);
    const cookies = signInRes
      .headersArray()
      .filter((h) => h.name.toLowerCase() === "set-cookie")
      .map((h) => h.value);
    expect(cookies.length).toBeGreaterThan(0);
    for (const c of cookies) {
      expect(c).toContain("HttpOnly");
      expect(c).toContain("SameSite=Lax");
      expect(c).toContain("Path=/");
    }
    expect(cookies.some((c) => c.startsWith("meshia.session_token="))).toBe(true);
    await anon.dispose();
  });

  test("the app works under its CSP: terminal and key dialog raise no violation, and injected inline script is refused", async ({ page }) => {
    await page.goto("/");
    await waitLive(page);
    const tab = await activeTabId(page);
    expect(await runAndRead(page, tab, "echo csp-$((40+2))")).toEqual(["csp-42"]);
    await page.getByRole("button", { name: "SSH access" }).click();
    const dialog = page.getByRole("dialog", { name: "SSH access" });
    await expect(dialog.getByTestId("ssh-command")).toBeVisible();
    await page.keyboard.press("Escape");
    await page.goto(`/w/${cast.wsA}/audit`);
    await page.goto(`/w/${cast.wsA}/targets`);
    await expect(page.getByTestId("target-row").first()).toBeVisible();
    // The 404 page of any unknown URL too (it used to be prerendered, without the nonce).
    expect((await page.goto("/no/such/page"))?.status()).toBe(404);
    await page.getByRole("link", { name: "Go to your workspace" }).click();
    await expect(page).toHaveURL(`/w/${cast.wsA}`);
    expect(cspViolations).toEqual([]);

    // The policy is enforced, not just sent: markup injected into a page (as an XSS
    // would) carries no nonce, and its inline script does not run; the app's own do.
    await page.route("**/invite/**", async (route) => {
      const res = await route.fetch();
      const html = (await res.text()).replace("</main>", "</main><script>window.__injected = 1;</script>");
      await route.fulfill({ response: res, body: html });
    });
    await page.goto(`/invite/${NOWHERE}`);
    await expect(page.getByText("This invitation is not valid any more")).toBeVisible();
    await expect.poll(() => cspViolations.length).toBeGreaterThan(0);
    expect(await page.evaluate(() => (window as unknown as { __injected?: number }).__injected)).toBeUndefined();
    expect(cspViolations.join("\n")).toMatch(/script-src/);
    // Next's own (nonced) scripts did run: its client router follows the link.
    await page.getByRole("link", { name: "Go to Meshia" }).click();
    await expect(page).toHaveURL(`/w/${cast.wsA}`);
    // That refusal was this test's doing; the auto-fixture checks for any other.
    cspViolations.length = 0;
  });
});

// ---- the sign-in limit ---------------------------------------------------------------------------

/** A request from another loopback address (its own rate-limit bucket), recorded like every other response. */
function fromAddress(
  localAddress: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      `${e2e.baseURL}${path}`,
      {
        method: "POST",
        localAddress,
        headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data), Origin: e2e.origin, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const buf = Buffer.concat(chunks);
          const list = Object.entries(res.headers).flatMap(([name, v]) => (Array.isArray(v) ? v : [v ?? ""]).map((value) => ({ name, value: String(value) })));
          recordResponse({ source: "request", method: "POST", url: `${e2e.baseURL}${path}`, status: res.statusCode ?? 0, headers: list }, buf);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: buf.toString("utf8") });
        });
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

test.describe("rate limits", () => {
  test("sign-in: past the limit one address gets 429 with Retry-After (a forged X-Forwarded-For does not help), others are unaffected, and it lifts after the window", async ({
    playwright,
  }) => {
    const { max, windowSeconds } = e2e.signInRate;
    const address = "127.0.0.9";
    const wrong = { email: e2e.owner.email, password: "wrong-password-guess" };
    // All at once, each claiming another client address.
    const floodStart = Date.now();
    const results = await Promise.all(
      Array.from({ length: max + 5 }, (_, i) => fromAddress(address, "/api/auth/sign-in/email", wrong, { "X-Forwarded-For": `203.0.113.${i + 1}` })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(max);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(5);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    const limited = results.find((r) => r.status === 429)!;
    expect(JSON.parse(limited.body)).toMatchObject({ error: { code: "rate_limited", message: expect.any(String) } });
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect(Number(limited.headers["retry-after"])).toBeLessThanOrEqual(windowSeconds);
    // Even the right password waits (unless, on a slow machine, the window has already
    // run out since the flood began); from 127.0.0.1 all is well.
    const right = await fromAddress(address, "/api/auth/sign-in/email", { email: e2e.owner.email, password: e2e.owner.password });
    if (right.status !== 429)
      expect(Date.now() - floodStart, `right password got ${right.status} inside the window`).toBeGreaterThanOrEqual(windowSeconds * 1000);
    expect([200, 429]).toContain(right.status);
    (await signIn(playwright, e2e.owner.email, e2e.owner.password)).dispose();
    // After the window it lifts.
    await expect
      .poll(async () => (await fromAddress(address, "/api/auth/sign-in/email", { email: e2e.owner.email, password: e2e.owner.password })).status, {
        timeout: (windowSeconds + 5) * 1000,
        intervals: [1000],
      })
      .toBe(200);
  });
});

// A guard that the ids above are what they claim.
test("the cast: A and B are different workspaces with the expected people", async () => {
  expect(cast.wsA).toMatch(UUID);
  expect(cast.wsB).toMatch(UUID);
  expect(cast.wsA).not.toBe(cast.wsB);
  const members = (await json<{ members: { email: string; role: string }[] }>(await cast.owner.get(`/api/workspaces/${cast.wsA}/members`))).members;
  expect(members).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ email: e2e.owner.email, role: "owner" }),
      expect.objectContaining({ email: cast.member.email, role: "member" }),
    ]),
  );
  expect(members.map((m) => m.email)).not.toContain(cast.bOwner.email);
});
