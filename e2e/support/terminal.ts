// Helpers for the terminal specs: typing into a tab's xterm, reading which tabs
// exist, and opening terminal WebSockets from the test process (the `ws` package)
// to probe the handshake; the protocol itself is spoken through the shared
// ProtocolClient (lib/terminal/testing/protocol-client.ts).
import type { APIRequestContext, Page } from "@playwright/test";
import WebSocket from "ws";
import { ProtocolClient } from "../../lib/terminal/testing/protocol-client";
import { expect, type Workspace } from "./fixtures";
import { recordResponse } from "./record";

/**
 * Routes the page's terminal sockets through the test (frames pass unchanged), so
 * that `drop()` can close the latest one as a network failure would. Call it before
 * the page opens its terminals.
 */
export async function droppableTerminalSockets(page: Page): Promise<{ drop(): Promise<void> }> {
  let latest: import("@playwright/test").WebSocketRoute | null = null;
  await page.routeWebSocket(/\/ws\/terminal/, (ws) => {
    ws.connectToServer();
    latest = ws;
  });
  return {
    async drop() {
      if (!latest) throw new Error("no terminal socket was opened");
      await latest.close({ code: 4001, reason: "dropped for a test" });
    },
  };
}

/** Tab ids in the order the tab bar shows them. */
export async function tabIds(page: Page): Promise<string[]> {
  return page.locator(".terminal-view").evaluateAll((els) => els.map((el) => el.getAttribute("data-tab") ?? ""));
}

/** The id of the tab whose terminal is shown. */
export async function activeTabId(page: Page): Promise<string> {
  const id = await page.locator(".terminal-view:not([hidden])").getAttribute("data-tab");
  if (!id) throw new Error("no active terminal tab");
  return id;
}

/** The terminal view (status bar + xterm) of one tab. */
export function view(page: Page, tab: string) {
  return page.locator(`.terminal-view[data-tab="${tab}"]`);
}

export async function waitTabLive(page: Page, tab: string, timeout = 20_000): Promise<void> {
  await expect(view(page, tab).getByTestId("terminal-status")).toHaveAttribute("data-state", "live", { timeout });
}

/** Makes a tab the active one (a hidden tab's terminal cannot take focus). */
export async function selectTab(page: Page, tab: string): Promise<void> {
  if (await view(page, tab).isHidden()) await page.locator(`#tab-${tab}`).click();
  await expect(view(page, tab)).toBeVisible();
}

/** Focuses a tab's xterm (its hidden textarea receives the keystrokes). */
export async function focusTerminal(page: Page, tab: string): Promise<void> {
  await selectTab(page, tab);
  await view(page, tab).locator(".xterm-helper-textarea").focus();
}

/**
 * Records every status a tab's status bar goes through (a MutationObserver on
 * data-state), so a test can tell a short "reconnecting" happened.
 */
export async function recordStates(page: Page, tab: string): Promise<void> {
  await page.evaluate((id) => {
    const w = window as unknown as { __states?: Record<string, string[]> };
    const el = document.querySelector(`.terminal-view[data-tab="${id}"] [data-testid="terminal-status"]`);
    if (!el) throw new Error(`no status bar for ${id}`);
    const seen = ((w.__states ??= {})[id] = [el.getAttribute("data-state") ?? ""]);
    new MutationObserver(() => seen.push(el.getAttribute("data-state") ?? "")).observe(el, { attributes: true, attributeFilter: ["data-state"] });
  }, tab);
}

export async function recordedStates(page: Page, tab: string): Promise<string[]> {
  return page.evaluate((id) => (window as unknown as { __states?: Record<string, string[]> }).__states?.[id] ?? [], tab);
}

/** Types a command line into a tab's terminal as real keystrokes, then Enter. */
export async function run(page: Page, tab: string, line: string): Promise<void> {
  await focusTerminal(page, tab);
  await page.keyboard.type(line);
  await page.keyboard.press("Enter");
}

/** Buffer lines of a tab (scrollback included), soft-wrapped rows joined into one line, trimmed on the right. */
export async function lines(page: Page, tab: string): Promise<string[]> {
  return page.evaluate((id) => {
    const t = window.__meshiaTest?.terminals[id]?.term;
    if (!t) return [];
    const buf = t.buffer.active;
    const out: string[] = [];
    for (let i = 0; i < buf.length; i++) {
      const line = buf.getLine(i);
      if (!line) continue;
      // Untrimmed, so a space at a wrap point survives the join; trimmed once below.
      const text = line.translateToString(false);
      if (line.isWrapped && out.length) out[out.length - 1] += text;
      else out.push(text);
    }
    return out.map((l) => l.trimEnd());
  }, tab);
}

/**
 * Runs a command that prints a unique marker line when it is done, and returns the
 * output lines between the command's own echo and that marker. The marker is built
 * by the shell (`__done`"_"N), so the echoed command line never matches it.
 */
let markerSeq = 0;
export async function runAndRead(page: Page, tab: string, command: string, timeout = 15_000): Promise<string[]> {
  const n = `${Date.now().toString(36)}${markerSeq++}`;
  const marker = `__done_${n}`;
  await run(page, tab, `${command}; echo __done"_${n}"`);
  let out: string[] = [];
  await expect
    .poll(
      async () => {
        const all = await lines(page, tab);
        const end = all.lastIndexOf(marker);
        if (end < 0) return false;
        // The echoed command line is the last line before the marker that contains the marker's source text.
        let start = end - 1;
        while (start >= 0 && !all[start]!.includes(`__done"_${n}"`)) start--;
        out = all.slice(start + 1, end);
        return true;
      },
      { timeout, message: `command never finished: ${command}` },
    )
    .toBe(true);
  return out;
}

/** Grid size of a tab's xterm. */
export async function termSize(page: Page, tab: string): Promise<{ cols: number; rows: number }> {
  return page.evaluate((id) => {
    const t = window.__meshiaTest?.terminals[id]?.term;
    if (!t) throw new Error(`no terminal ${id}`);
    return { cols: t.cols, rows: t.rows };
  }, tab);
}

/** The server-side session id of a tab. */
export async function sessionIdOf(page: Page, tab: string): Promise<string> {
  const id = await page.evaluate((t) => window.__meshiaTest?.terminals[t]?.connection.currentSessionId ?? null, tab);
  if (!id) throw new Error(`tab ${tab} has no session`);
  return id;
}

// ---- the WebSocket from the test process ------------------------------------------

export interface TargetInfo {
  id: string;
  name: string;
  status: string;
  host: string;
  port: number | null;
  hostKeyFingerprint: string | null;
  sshCommand: string | null;
}

export async function localTarget(request: APIRequestContext, workspace: Workspace): Promise<TargetInfo> {
  const res = await request.get(`/api/workspaces/${workspace.id}/targets`);
  expect(res.status()).toBe(200);
  const { targets } = (await res.json()) as { targets: (TargetInfo & { kind: string })[] };
  const local = targets.find((t) => t.kind === "local" && t.name === "local");
  if (!local) throw new Error(`no embedded target "local" in ${JSON.stringify(targets)}`);
  return local;
}

export interface Ticket {
  ticket: string;
  sessionId: string;
  path: string;
  expiresAt: string;
}

export async function issueTicket(request: APIRequestContext, workspace: Workspace, body: { targetId: string; sessionId?: string }): Promise<Ticket> {
  const res = await request.post(`/api/workspaces/${workspace.id}/terminal/tickets`, { data: body });
  expect(res.status(), await res.text()).toBe(200);
  return (await res.json()) as Ticket;
}

export function wsUrl(baseURL: string, t: Ticket): string {
  const u = new URL(t.path, baseURL.replace(/^http/, "ws"));
  u.searchParams.set("ticket", t.ticket);
  return u.toString();
}

/** The outcome of a handshake: the socket (and a protocol client on it) when it opened, or the HTTP status it was refused with. */
export function handshake(
  url: string,
  opts: { origin?: string; cookie?: string } = {},
): Promise<{ ws: WebSocket; client: ProtocolClient; status: 101 } | { ws: null; client: null; status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = opts.cookie ? { Cookie: opts.cookie } : {};
    const ws = new WebSocket(url, { ...(opts.origin ? { origin: opts.origin } : {}), headers });
    // Listening from the start: the first frames may arrive with the 101 itself.
    const client = new ProtocolClient(ws);
    ws.once("open", () => resolve({ ws, client, status: 101 }));
    ws.once("unexpected-response", (_req, res) => {
      const chunks: Buffer[] = [];
      const done = () => {
        const body = Buffer.concat(chunks);
        const headersList = Object.entries(res.headers).flatMap(([name, v]) => (Array.isArray(v) ? v : [v ?? ""]).map((value) => ({ name, value })));
        recordResponse({ source: "websocket", method: "GET", url, status: res.statusCode ?? 0, headers: headersList }, body);
        resolve({ ws: null, client: null, status: res.statusCode ?? 0, body: body.toString("utf8") });
      };
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", done);
      res.on("error", done);
    });
    ws.once("error", (err) => reject(err));
  });
}
