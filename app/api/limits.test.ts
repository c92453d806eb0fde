// Abuse limits and hostile names, through the real route handlers on the real
// databases: per-user key generation and workspace creation limits, one key
// generation at a time per person (429), control characters and bidi overrides refused in every
// name field (400 naming the field, never a 500), and a setup link that survives a
// failed attempt.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { user } from "@/db/schema";
import { testDatabases } from "@/db/testing";
import { invite } from "@/lib/workspaces/invitations";
import { issueSetupToken } from "@/lib/auth/setup";
import { loadConfig, configGlobal } from "@/lib/config";
import type { defineRoute } from "@/lib/http/route";
import { KeyPool, keyPoolGlobal } from "@/lib/keys/key-pool";
import type { UnnamedKey } from "@/lib/keys/workspace-key";
import * as setupRoute from "./setup/route";
import * as workspacesRoute from "./workspaces/route";
import * as keyRoute from "./workspaces/[workspaceId]/key/route";
import * as tokensRoute from "./workspaces/[workspaceId]/tokens/route";
import * as targetsRoute from "./workspaces/[workspaceId]/targets/route";
import * as acceptRoute from "./invitations/[invitationId]/accept/route";
import { databaseGlobal } from "@/db/client";
import { rateLimiters } from "@/lib/http/rate-limit";
import { cookieOf, useTestAuth } from "@/lib/auth/testing";

type Route = ReturnType<typeof defineRoute>;
const ORIGIN = "http://127.0.0.1:3000";
const PASSWORD = "correct horse battery";
const HOSTILE: [string, string][] = [
  ["NUL", "a\u0000b"],
  ["ESC", "\u001b]0;pwned\u0007"],
  ["a newline", "a\nb"],
  ["U+202E", "abc\u202Etxt.exe"],
  ["U+0085", "a\u0085b"],
];

describe.each(testDatabases())("limits and names on $name", (tdb) => {
  let handle: Awaited<ReturnType<typeof tdb.open>>;
  let cookie = "";
  let workspaceId = "";
  let setupToken = "";

  const call = async (
    route: Route,
    method: "POST" | "GET",
    url: string,
    params: Record<string, string>,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await route[method](
      new Request(`${ORIGIN}${url}`, {
        method,
        headers: {
          host: "127.0.0.1:3000",
          origin: ORIGIN,
          ...(cookie ? { cookie } : {}),
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      }),
      { params: Promise.resolve(params) },
    );
    const text = await res.text();
    let json: { error?: { code: string; message: string; details?: { retryAfterSeconds?: number } } } & Record<string, unknown> = {};
    try {
      json = JSON.parse(text);
    } catch {
      // a PEM
    }
    return { status: res.status, headers: res.headers, json, text };
  };

  beforeAll(async () => {
    handle = await tdb.open();
    databaseGlobal.set(Promise.resolve(handle));
    useTestAuth(handle.db);
    const base = loadConfig();
    configGlobal.set({
      ...base,
      auth: {
        ...base.auth,
        keygenRate: { max: 100, windowSeconds: 60 },
        keygenUserRate: { max: 3, windowSeconds: 60 },
        workspaceCreateRate: { max: 2, windowSeconds: 60 },
      },
    });
    rateLimiters.resetForTests();
    setupToken = (await issueSetupToken(handle.db))!;
  });
  afterAll(async () => {
    configGlobal.resetForTests();
    keyPoolGlobal.resetForTests();
    rateLimiters.resetForTests();
    await handle?.dispose();
  });

  it("setup: a hostile name is refused before the link is used, and the link still works", async () => {
    for (const [, name] of HOSTILE) {
      const r = await call(
        setupRoute as unknown as Route,
        "POST",
        "/api/setup",
        {},
        { token: setupToken, name, email: "owner@example.com", password: PASSWORD },
      );
      expect(r.status).toBe(400);
      expect(r.json.error?.code).toBe("invalid_field");
      expect(r.json.error?.message).toMatch(/^name: /);
    }
    const ok = await call(
      setupRoute as unknown as Route,
      "POST",
      "/api/setup",
      {},
      { token: setupToken, name: "Olivia", email: "owner@example.com", password: PASSWORD },
    );
    expect(ok.status).toBe(201);
    workspaceId = ok.json.workspaceId as string;
    cookie = cookieOf(ok.headers);
  });

  it.each(HOSTILE)("refuses %s in workspace, token, target and account names with 400 naming the field", async (_what, name) => {
    const checks = [
      await call(workspacesRoute as unknown as Route, "POST", "/api/workspaces", {}, { name }),
      await call(tokensRoute as unknown as Route, "POST", `/api/workspaces/${workspaceId}/tokens`, { workspaceId }, { name }),
      await call(targetsRoute as unknown as Route, "POST", `/api/workspaces/${workspaceId}/targets`, { workspaceId }, { name, host: "203.0.113.7" }),
    ];
    for (const r of checks) {
      expect(r.status, r.text).toBe(400);
      expect(r.json.error?.code).toBe("invalid_field");
      expect(r.json.error?.message).toMatch(/^name: name must not contain control characters/);
    }
    const [owner] = await handle.db.select().from(user).limit(1);
    const inv = await invite(handle.db, { id: workspaceId, name: "W" } as Parameters<typeof invite>[1], {
      email: `x${Math.random().toString(36).slice(2)}@example.com`,
      role: "member",
      inviterId: owner!.id,
    });
    const saved = cookie;
    cookie = ""; // a new person accepting: the name is theirs to choose
    const r = await call(acceptRoute as unknown as Route, "POST", `/api/invitations/${inv.id}/accept`, { invitationId: inv.id }, { name, password: PASSWORD });
    cookie = saved;
    expect(r.status, r.text).toBe(400);
    expect(r.json.error?.message).toMatch(/^name: /);
  });

  it("caps workspace creation per user (429, Retry-After, JSON)", async () => {
    const made = [];
    for (let i = 0; i < 2; i++) made.push(await call(workspacesRoute as unknown as Route, "POST", "/api/workspaces", {}, { name: `extra ${i}` }));
    expect(made.map((r) => r.status)).toEqual([201, 201]);
    const refused = await call(workspacesRoute as unknown as Route, "POST", "/api/workspaces", {}, { name: "one too many" });
    expect(refused.status).toBe(429);
    expect(refused.json.error?.code).toBe("rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(refused.json.error?.details?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it("limits key generation per user across all their workspaces (429), one generation at a time per person (429)", async () => {
    // A slow stand-in generator and no pool: what the rule is about is generations in flight.
    // (The server-wide cap, 503, is the pool's: lib/keys/key-pool.test.ts.)
    let n = 0;
    const slow = async (): Promise<UnnamedKey> => {
      await new Promise((r) => setTimeout(r, 400));
      const { generateUnnamedKey } = await import("@/lib/keys/workspace-key");
      n++;
      return generateUnnamedKey();
    };
    keyPoolGlobal.set(new KeyPool({ size: 0, maxConcurrent: 2, generate: slow }));
    const list = (await call(workspacesRoute as unknown as Route, "GET", "/api/workspaces", {})).json.workspaces as { id: string }[];
    expect(list.length).toBeGreaterThanOrEqual(3);
    const post = (id: string) => call(keyRoute as unknown as Route, "POST", `/api/workspaces/${id}/key`, { workspaceId: id });

    // Two at once by one person, in two of their workspaces: the second waits its turn (429),
    // leaving the server's other slot to someone else.
    const [a, b] = await Promise.all([post(list[0]!.id), post(list[1]!.id)]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([200, 429]);
    const busy = a.status === 429 ? a : b;
    expect(busy.json.error?.code).toBe("rate_limited");
    expect(busy.json.error?.message).toMatch(/still being generated/);
    expect(Number(busy.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(n).toBe(1);

    // Three per user per minute (in this test's configuration), whichever workspace:
    // the refused one above spent one too, so a third workspace gets one more, then no more.
    expect((await post(list[2]!.id)).status).toBe(200);
    const limited = await post(list[1]!.id);
    expect(limited.status).toBe(429);
    expect(limited.json.error?.code).toBe("rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    keyPoolGlobal.resetForTests();
  });
});
