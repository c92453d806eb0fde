// The in-browser terminal on the embedded `local` target: typing and reading,
// sizing, flow control, resume after a dropped socket or a reload, tabs, and the
// WebSocket endpoint's refusals (origin, tickets, malformed frames).
import { createHash, randomBytes } from "node:crypto";
import type { ProtocolClient } from "../lib/terminal/testing/protocol-client";
import { cookieHeader } from "./support/auth";
import { expect, test, waitLive } from "./support/fixtures";
import {
  activeTabId,
  focusTerminal,
  handshake,
  issueTicket,
  lines,
  localTarget,
  recordStates,
  recordedStates,
  run,
  runAndRead,
  sessionIdOf,
  tabIds,
  termSize,
  view,
  waitTabLive,
  wsUrl,
} from "./support/terminal";
import { droppableTerminalSockets } from "./support/terminal";

const exactLine = (all: string[], text: string) => all.filter((l) => l === text).length;

test.describe("in-browser terminal", () => {
  test("keystrokes typed before the shell is ready reach it", async ({ page }) => {
    // Hold the ticket request (the real one, only delayed) so the terminal is
    // certainly not live yet while we type.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await page.route("**/terminal/tickets", async (route) => {
      await gate;
      await route.continue();
    });
    await page.goto("/");
    await expect(page).toHaveURL(/\/w\/[0-9a-f-]{36}$/);
    const tab = await activeTabId(page);
    const status = view(page, tab).getByTestId("terminal-status");
    await expect(status).toHaveAttribute("data-state", "connecting");
    await focusTerminal(page, tab);
    await page.keyboard.type("echo early-$((6*7))");
    await page.keyboard.press("Enter");
    await expect(status).toHaveAttribute("data-state", "connecting");
    // Let the ticket through (later requests pass the open gate at once).
    release();
    await waitTabLive(page, tab);
    await expect.poll(async () => exactLine(await lines(page, tab), "early-42"), { message: "the early keystrokes never ran" }).toBe(1);
  });

  test("echo, and stty size equals the visible grid before and after a window resize", async ({ page }) => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto("/");
    await waitLive(page);
    const tab = await activeTabId(page);

    await run(page, tab, "echo hello");
    await expect.poll(async () => exactLine(await lines(page, tab), "hello")).toBe(1);

    // The shell opened at the real size.
    const first = await termSize(page, tab);
    expect(first.cols).toBeGreaterThan(80);
    expect(await runAndRead(page, tab, "stty size")).toEqual([`${first.rows} ${first.cols}`]);

    // Smaller window: fit + debounced resize must reach the pty.
    await page.setViewportSize({ width: 760, height: 460 });
    await expect.poll(async () => (await termSize(page, tab)).cols).toBeLessThan(first.cols);
    let settled = await termSize(page, tab);
    await expect
      .poll(
        async () => {
          const now = await termSize(page, tab);
          const same = now.cols === settled.cols && now.rows === settled.rows;
          settled = now;
          return same;
        },
        { intervals: [300] },
      )
      .toBe(true);
    expect(settled.rows).toBeLessThan(first.rows);
    expect(await runAndRead(page, tab, "stty size")).toEqual([`${settled.rows} ${settled.cols}`]);

    // And larger again.
    await page.setViewportSize({ width: 1400, height: 900 });
    await expect.poll(async () => (await termSize(page, tab)).cols).toBeGreaterThan(settled.cols);
    await expect
      .poll(
        async () => {
          const now = await termSize(page, tab);
          const same = now.cols === settled.cols && now.rows === settled.rows;
          settled = now;
          return same;
        },
        { intervals: [300] },
      )
      .toBe(true);
    expect(await runAndRead(page, tab, "stty size")).toEqual([`${settled.rows} ${settled.cols}`]);
  });

  test("`yes` floods the terminal; Ctrl-C stops the output within 1 s", async ({ page }) => {
    await page.goto("/");
    await waitLive(page);
    const tab = await activeTabId(page);
    // When xterm last parsed anything, in the page's clock.
    await page.evaluate((id) => {
      const w = window as unknown as { __lastWrite: number; __written: number };
      w.__lastWrite = performance.now();
      w.__written = 0;
      window.__meshiaTest!.terminals[id]!.term.onWriteParsed(() => {
        w.__lastWrite = performance.now();
        w.__written++;
      });
    }, tab);
    await run(page, tab, "yes");
    // Let it flood for a few seconds (the scenario, not an assertion).
    await page.waitForTimeout(4000);
    const flowing = await page.evaluate(() => {
      const w = window as unknown as { __lastWrite: number; __written: number };
      return { sinceLast: performance.now() - w.__lastWrite, written: w.__written };
    });
    expect(flowing.sinceLast, "output was not flowing during `yes`").toBeLessThan(500);
    expect(flowing.written).toBeGreaterThan(20);

    const t0 = await page.evaluate(() => performance.now());
    await page.keyboard.press("Control+C");
    // Quiet for 1.5 s means it stopped; then when did it stop?
    await expect
      .poll(() => page.evaluate(() => performance.now() - (window as unknown as { __lastWrite: number }).__lastWrite), { timeout: 20_000, intervals: [250] })
      .toBeGreaterThan(1500);
    const stoppedAfter = await page.evaluate((start) => (window as unknown as { __lastWrite: number }).__lastWrite - start, t0);
    test.info().annotations.push({ type: "ctrl-c-stop-ms", description: String(Math.round(stoppedAfter)) });
    expect(stoppedAfter, `output went on for ${Math.round(stoppedAfter)} ms after Ctrl-C`).toBeLessThan(1000);

    // The shell is back and answers.
    expect(await runAndRead(page, tab, "echo after-$((2+3))")).toEqual(["after-5"]);
  });

  test("a large paste into `cat > file` arrives intact (flow control slows it, never drops it)", async ({ page, context }) => {
    test.setTimeout(240_000); // the browser's own paste and xterm's rendering of the echo take most of it on a busy machine
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    await page.goto("/");
    await waitLive(page);
    const tab = await activeTabId(page);
    // 1 MiB of base64 lines (the 10 MB paste is in lib/terminal/server/session.test.ts) (a canonical tty takes lines up to 4095 bytes), echoed back as typed text would be.
    const block = (
      randomBytes(768 * 1024)
        .toString("base64")
        .replace(/(.{76})/g, "$1\n") + "\n"
    ).replace(/\n\n$/, "\n");
    const want = createHash("sha256").update(block).digest("hex");
    const file = `paste-${Date.now().toString(36)}.txt`;
    await run(page, tab, `cat > ${file}`);
    await page.evaluate((text) => navigator.clipboard.writeText(text), block);
    await focusTerminal(page, tab);
    await page.keyboard.press("Control+Shift+V");
    // The paste is in when its last line has come back as echo; then end of file.
    const lastLine = block.trimEnd().split("\n").pop()!;
    await expect.poll(async () => (await lines(page, tab)).includes(lastLine), { timeout: 180_000, message: "the paste never finished echoing" }).toBe(true);
    await page.keyboard.press("Control+D");
    const out = await runAndRead(page, tab, `echo "$(wc -c < ${file}) $(sha256sum < ${file} | cut -c1-64)"; rm -f ${file}`, 30_000);
    expect(out).toEqual([`${Buffer.byteLength(block)} ${want}`]);
    await expect(view(page, tab).getByTestId("terminal-status")).toHaveAttribute("data-state", "live");
  });

  test("output printed across a forced socket drop arrives exactly once", async ({ page }) => {
    const sockets = await droppableTerminalSockets(page);
    await page.goto("/");
    await waitLive(page);
    const tab = await activeTabId(page);
    await recordStates(page, tab);
    await run(page, tab, "for i in $(seq 1 50); do echo line-$i; sleep 0.1; done");
    await expect.poll(async () => exactLine(await lines(page, tab), "line-10")).toBe(1);
    await sockets.drop();
    await expect.poll(async () => recordedStates(page, tab)).toContain("reconnecting");
    await waitTabLive(page, tab);
    await expect.poll(async () => exactLine(await lines(page, tab), "line-50"), { timeout: 20_000 }).toBe(1);
    const all = await lines(page, tab);
    const counts = Array.from({ length: 50 }, (_, i) => exactLine(all, `line-${i + 1}`));
    expect(counts, "every line exactly once").toEqual(Array(50).fill(1));
    const numbered = all.filter((l) => /^line-\d+$/.test(l)).map((l) => Number(l.slice(5)));
    expect(numbered, "in order").toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const states = await recordedStates(page, tab);
    expect(states.slice(states.indexOf("reconnecting"))).toContain("live");
  });

  test("a page reload resumes the same session, without replayed queries typing into the shell", async ({ page }) => {
    await page.goto("/");
    await waitLive(page);
    const tab = await activeTabId(page);
    const session = await sessionIdOf(page, tab);
    const value = `bar-${randomBytes(4).toString("hex")}`;
    await run(page, tab, `export FOO=${value}`);
    // A device-attributes query: xterm answers it live (consumed here by `read`); the
    // raw replay after the reload must not make xterm answer it again into the shell.
    expect(await runAndRead(page, tab, `printf '\\033[c'; read -rs -t 3 -d c; echo da-"ok"`)).toEqual(["da-ok"]);

    // A second tab, to see both come back.
    await page.getByRole("button", { name: "New terminal" }).click();
    await expect.poll(async () => (await tabIds(page)).length).toBe(2);
    const second = await activeTabId(page);
    await waitTabLive(page, second);
    const secondSession = await sessionIdOf(page, second);
    await page.locator(`#tab-${tab}`).click();

    await page.reload();
    await waitLive(page);
    expect(await tabIds(page)).toEqual([tab, second]);
    expect(await activeTabId(page)).toBe(tab);
    expect(await sessionIdOf(page, tab)).toBe(session);
    // The replay brought the earlier output back.
    expect(exactLine(await lines(page, tab), "da-ok")).toBe(1);
    expect(await runAndRead(page, tab, 'echo "[$FOO]"')).toEqual([`[${value}]`]);
    await waitTabLive(page, second);
    expect(await sessionIdOf(page, second)).toBe(secondSession);
  });

  test("more output than the resume buffer holds comes back as a screen snapshot", async ({ page }) => {
    await page.goto("/");
    await waitLive(page);
    const tab = await activeTabId(page);
    const session = await sessionIdOf(page, tab);
    await run(page, tab, "export SNAP=kept-$((3*5))");
    // ~1.3 MB of output: past the 1 MiB ring, so a reload cannot replay it raw.
    await run(page, tab, "seq 1 200000");
    await expect.poll(async () => (await lines(page, tab)).includes("200000"), { timeout: 30_000 }).toBe(true);
    await page.reload();
    await waitLive(page);
    expect(await sessionIdOf(page, tab)).toBe(session);
    // The screen came back (its last lines), not the whole stream.
    const after = await lines(page, tab);
    expect(after).toContain("200000");
    expect(after).not.toContain("1");
    expect(await runAndRead(page, tab, 'echo "[$SNAP]"')).toEqual(["[kept-15]"]);
  });

  test("status bar: reconnecting with attempt, countdown and Retry now; ended with exit code; expired", async ({ page, context, request, workspace }) => {
    const sockets = await droppableTerminalSockets(page);
    await page.goto("/");
    await waitLive(page);
    const tab = await activeTabId(page);
    const status = view(page, tab).getByTestId("terminal-status");

    // The network is down (ticket requests fail) when the socket drops.
    await page.route("**/terminal/tickets", (route) => route.abort("connectionrefused"));
    await sockets.drop();
    await expect(status).toHaveAttribute("data-state", "reconnecting");
    await expect(status).toContainText(/Reconnecting \(attempt \d+\) in \d+ s/);
    await expect(status).toContainText("attempt 2");
    // Typed while reconnecting: held and delivered once live again.
    await focusTerminal(page, tab);
    await page.keyboard.type("echo held-$((4*4))");
    await page.keyboard.press("Enter");
    await page.unroute("**/terminal/tickets");
    await status.getByRole("button", { name: "Retry now" }).click();
    await expect(status).toHaveAttribute("data-state", "live");
    await expect.poll(async () => exactLine(await lines(page, tab), "held-16")).toBe(1);

    // The shell exits: ended, with its exit code, and a way to start again.
    const first = await sessionIdOf(page, tab);
    await run(page, tab, "exit 3");
    await expect(status).toHaveAttribute("data-state", "ended");
    await expect(status).toContainText("Session ended with exit code 3");
    await status.getByRole("button", { name: "Start a new session" }).click();
    await waitLive(page);
    const tab2 = await activeTabId(page);
    const second = await sessionIdOf(page, tab2);
    expect(second).not.toBe(first);

    // The session is gone while the page is away (as after the grace period): expired.
    await page.close();
    const target = await localTarget(request, workspace);
    expect((await request.delete(`/api/workspaces/${workspace.id}/terminal/sessions/${second}`)).status()).toBe(204);
    const again = await context.newPage();
    await again.goto("/");
    const status2 = view(again, tab2).getByTestId("terminal-status");
    await expect(status2).toHaveAttribute("data-state", "expired");
    await expect(status2.getByRole("button", { name: "Start a new session" })).toBeVisible();
    expect((await request.post(`/api/workspaces/${workspace.id}/terminal/tickets`, { data: { targetId: target.id, sessionId: second } })).status()).toBe(404);
  });

  test("tabs are independent sessions; closing a tab ends its session", async ({ page, request, workspace }) => {
    await page.goto("/");
    await waitLive(page);
    const a = await activeTabId(page);
    await page.getByRole("button", { name: "New terminal" }).click();
    await expect.poll(async () => (await tabIds(page)).length).toBe(2);
    const b = await activeTabId(page);
    expect(b).not.toBe(a);
    await waitTabLive(page, b);

    const [ttyB] = await runAndRead(page, b, "tty");
    // The shell of B by pid and start time (pids and pty numbers are reused machine-wide).
    const [shellB] = await runAndRead(page, b, "echo $$:$(cut -d' ' -f22 /proc/$$/stat)");
    expect(shellB).toMatch(/^\d+:\d+$/);
    const [ttyA] = await runAndRead(page, a, "tty");
    expect(ttyA).toMatch(/^\/dev\/pts\/\d+$/);
    expect(ttyB).toMatch(/^\/dev\/pts\/\d+$/);
    expect(ttyA).not.toBe(ttyB);

    await run(page, a, "export ONLY_IN_A=a1");
    expect(await runAndRead(page, a, 'echo "[${ONLY_IN_A:-unset}]"')).toEqual(["[a1]"]);
    expect(await runAndRead(page, b, 'echo "[${ONLY_IN_A:-unset}]"')).toEqual(["[unset]"]);
    const sessionA = await sessionIdOf(page, a);
    const sessionB = await sessionIdOf(page, b);
    expect(sessionA).not.toBe(sessionB);

    // Close tab B: its session ends on the server and its shell goes away.
    await page.getByRole("button", { name: "Close local #2" }).click();
    await expect.poll(async () => tabIds(page)).toEqual([a]);
    const target = await localTarget(request, workspace);
    await expect
      .poll(async () =>
        (await request.post(`/api/workspaces/${workspace.id}/terminal/tickets`, { data: { targetId: target.id, sessionId: sessionB } })).status(),
      )
      .toBe(404);
    const [pidB] = shellB!.split(":");
    await expect
      .poll(async () => (await runAndRead(page, a, `echo "[$(cut -d' ' -f22 /proc/${pidB}/stat 2>/dev/null)]"`))[0])
      .not.toBe(`[${shellB!.split(":")[1]}]`);
    // Tab A is untouched.
    expect(await runAndRead(page, a, 'echo "[${ONLY_IN_A:-unset}]"')).toEqual(["[a1]"]);
  });
});

test.describe("terminal WebSocket endpoint", () => {
  test("refuses cross-origin handshakes, reused and expired tickets (403), and unknown paths", async ({ request, workspace, baseURL }) => {
    const target = await localTarget(request, workspace);
    // Signed in as the owner the tickets are issued to, so each refusal below is for the reason it names.
    const cookie = await cookieHeader(request);

    const t1 = await issueTicket(request, workspace, { targetId: target.id });
    const evil = await handshake(wsUrl(baseURL!, t1), { origin: "http://evil.example", cookie });
    expect(evil.status).toBe(403);
    if (evil.ws === null) expect(JSON.parse(evil.body)).toMatchObject({ error: { code: "forbidden", message: expect.stringContaining("Cross-origin") } });

    // Single use: the first handshake (same origin) opens, the second is refused.
    const t2 = await issueTicket(request, workspace, { targetId: target.id });
    const url2 = wsUrl(baseURL!, t2);
    const ok = await handshake(url2, { origin: new URL(baseURL!).origin, cookie });
    expect(ok.status).toBe(101);
    ok.ws?.close();
    const reused = await handshake(url2, { cookie });
    expect(reused.status).toBe(403);
    if (reused.ws === null) expect(JSON.parse(reused.body).error.message).toContain("already used");
    await request.delete(`/api/workspaces/${workspace.id}/terminal/sessions/${t2.sessionId}`);

    // Expired: wait (by the server's own expiry time) until the ticket is past its TTL.
    const t3 = await issueTicket(request, workspace, { targetId: target.id });
    const expiresAt = Date.parse(t3.expiresAt);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(30_000);
    await expect.poll(() => Date.now(), { timeout: 35_000, intervals: [250] }).toBeGreaterThan(expiresAt + 200);
    expect((await handshake(wsUrl(baseURL!, t3), { cookie })).status).toBe(403);

    // No ticket, a made-up ticket.
    const bare = new URL(t3.path, baseURL!.replace(/^http/, "ws")).toString();
    expect((await handshake(bare, { cookie })).status).toBe(403);
    expect((await handshake(`${bare}?ticket=${randomBytes(24).toString("base64url")}`, { cookie })).status).toBe(403);

    // Any other path is not a WebSocket endpoint: the socket is destroyed.
    await expect(handshake(new URL("/ws/other", baseURL!.replace(/^http/, "ws")).toString())).rejects.toThrow(/socket hang up|ECONNRESET/);
  });

  test("holds input sent before the shell is ready", async ({ request, workspace, baseURL }) => {
    const target = await localTarget(request, workspace);
    const t = await issueTicket(request, workspace, { targetId: target.id });
    const h = await handshake(wsUrl(baseURL!, t), { cookie: await cookieHeader(request) });
    if (!h.client) throw new Error(`handshake refused: ${h.status}`);
    const got = h.client;
    // Size and the command in one go, before any "live" status.
    got.resize(100, 30);
    got.type("echo early-$((6*7))\r");
    // The command's echo reads "early-$((6*7))"; only its output reads "early-42".
    await expect.poll(() => got.text()).toMatch(/early-42\r\n/);
    expect(got.states()).toContain("live");
    got.ws.close();
    expect((await request.delete(`/api/workspaces/${workspace.id}/terminal/sessions/${t.sessionId}`)).status()).toBe(204);
  });

  test("malformed frames get an error frame and a policy close; other sessions carry on", async ({ page, request, workspace, baseURL }) => {
    await page.goto("/");
    await waitLive(page);
    const tab = await activeTabId(page);
    const target = await localTarget(request, workspace);

    // The protocol's encoder does not validate: it writes exactly these malformed frames.
    const cases: { name: string; send: (c: ProtocolClient) => void; code: string; close: number }[] = [
      { name: "unknown type byte", send: (c) => c.ws.send(Buffer.from([0x7f, 1, 2, 3])), code: "bad_frame", close: 1008 },
      { name: "resize with 0 columns", send: (c) => c.resize(0, 24), code: "bad_size", close: 1008 },
      { name: "resize with 5000 columns", send: (c) => c.resize(5000, 24), code: "bad_size", close: 1008 },
      {
        name: "70 KiB frame",
        send: (c) => c.send({ type: "input", data: Buffer.alloc(70 * 1024, 0x61) }),
        code: "frame_too_large",
        close: 1009,
      },
      { name: "text frame", send: (c) => c.ws.send("echo hi\r"), code: "bad_frame", close: 1008 },
    ];
    for (const c of cases) {
      const t = await issueTicket(request, workspace, { targetId: target.id });
      const h = await handshake(wsUrl(baseURL!, t), { cookie: await cookieHeader(request) });
      if (!h.client) throw new Error(`${c.name}: handshake refused (${h.status})`);
      const got = h.client;
      c.send(got);
      const closed = await got.whenClosed;
      expect(closed.code, c.name).toBe(c.close);
      const errors = got.framesOf("error");
      expect(errors, c.name).toHaveLength(1);
      expect(errors[0], c.name).toMatchObject({ code: c.code, message: expect.any(String) });
      expect(String(errors[0]!.message).length, c.name).toBeGreaterThan(0);
      await request.delete(`/api/workspaces/${workspace.id}/terminal/sessions/${t.sessionId}`);
    }

    // The browser's session never noticed, and the server is up.
    expect(await runAndRead(page, tab, "echo still-$((1+1))")).toEqual(["still-2"]);
    await expect(view(page, tab).getByTestId("terminal-status")).toHaveAttribute("data-state", "live");
    expect((await request.get("/api/workspaces")).status()).toBe(200);
  });
});
