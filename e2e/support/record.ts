// Records every HTTP response the tests receive — through any APIRequestContext, any
// browser context, and the raw WebSocket handshakes of e2e/support/terminal.ts — so
// e2e/secret-scan.ts can prove afterwards that none carried private key material but
// the key downloads themselves.
//
// Layout under e2e.responsesDir:
//   index-<pid>.jsonl  one line per response: source, method, url, status, headers, body digest
//   bodies/<sha256>    response bodies, stored once per distinct content
//   keys/<sha256>.pem  the key downloads (POST …/key answering a PEM), mode 600: the
//                      scan's source of what to look for, deleted by the scan
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { APIRequestContext, APIResponse, Browser, BrowserContext, PlaywrightWorkerArgs, Response } from "@playwright/test";
import { e2e } from "./env";

export interface RecordedResponse {
  source: "request" | "browser" | "websocket";
  method: string;
  url: string;
  status: number;
  headers: { name: string; value: string }[];
  /** sha256 of the body, or null when the browser had none to give (redirects, evicted). */
  body: string | null;
  bytes: number;
  kind: "response" | "key-download";
  note?: string;
}

const KEY_ROUTE = /^\/api\/workspaces\/[^/]+\/key$/;

export function isKeyDownload(method: string, url: string, status: number, contentType: string | undefined): boolean {
  let pathname = "";
  try {
    pathname = new URL(url).pathname;
  } catch {
    return false;
  }
  return method === "POST" && status === 200 && KEY_ROUTE.test(pathname) && (contentType ?? "").startsWith("application/x-pem-file");
}

function ensureDirs(): void {
  for (const d of ["bodies", "keys"]) mkdirSync(path.join(e2e.responsesDir, d), { recursive: true, mode: 0o700 });
}

export function recordResponse(r: Omit<RecordedResponse, "body" | "bytes" | "kind">, body: Buffer | null): void {
  ensureDirs();
  const contentType = r.headers.find((h) => h.name.toLowerCase() === "content-type")?.value;
  const kind = body !== null && isKeyDownload(r.method, r.url, r.status, contentType) ? "key-download" : "response";
  let digest: string | null = null;
  if (body !== null) {
    digest = createHash("sha256").update(body).digest("hex");
    const file = kind === "key-download" ? path.join(e2e.responsesDir, "keys", `${digest}.pem`) : path.join(e2e.responsesDir, "bodies", digest);
    if (!existsSync(file)) writeFileSync(file, body, { mode: 0o600 });
  }
  const entry: RecordedResponse = { ...r, body: digest, bytes: body?.length ?? 0, kind };
  appendFileSync(path.join(e2e.responsesDir, `index-${process.pid}.jsonl`), JSON.stringify(entry) + "\n");
}

// ---- API request contexts ----------------------------------------------------------

const recordedRequests = new WeakSet<APIRequestContext>();

/** Wraps a request context so every response it receives is recorded (get/post/… all go through fetch). */
export function recordRequestContext(ctx: APIRequestContext): APIRequestContext {
  if (recordedRequests.has(ctx)) return ctx;
  recordedRequests.add(ctx);
  const fetch = ctx.fetch.bind(ctx);
  ctx.fetch = async (urlOrRequest, options) => {
    const res: APIResponse = await fetch(urlOrRequest, options);
    const method = (options?.method ?? (typeof urlOrRequest === "string" ? "GET" : urlOrRequest.method())).toUpperCase();
    // Read before returning: once the caller disposes the context the body is gone.
    const body = await res.body().catch(() => null);
    recordResponse({ source: "request", method, url: res.url(), status: res.status(), headers: res.headersArray() }, body);
    return res;
  };
  return ctx;
}

// ---- browser contexts ----------------------------------------------------------------

const pending = new Set<Promise<void>>();

function track(p: Promise<void>): void {
  pending.add(p);
  void p.finally(() => pending.delete(p));
}

/** Waits until every browser response seen so far is written. */
export async function flushRecordings(): Promise<void> {
  while (pending.size) await Promise.allSettled([...pending]);
}

const BODY_TIMEOUT_MS = 5_000;

async function recordBrowserResponse(ctx: BrowserContext, res: Response): Promise<void> {
  const url = res.url();
  if (!/^https?:/.test(url)) return;
  const method = res.request().method();
  const headers = await res.headersArray().catch(() => []);
  let body: Buffer | null = null;
  let note: string | undefined;
  if (res.status() >= 300 && res.status() < 400) note = "redirect (no body)";
  else {
    try {
      // A response still streaming when its page goes away never settles: give up after a while.
      body = await Promise.race([
        res.body(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timed out reading the body")), BODY_TIMEOUT_MS).unref()),
      ]);
    } catch (err) {
      note = `body unavailable: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`;
    }
  }
  recordResponse({ source: "browser", method, url, status: res.status(), headers, ...(note ? { note } : {}) }, body);
  if (body === null && method === "GET" && !note?.startsWith("redirect")) {
    // Chromium keeps no body for some responses (Next's RSC prefetches, responses cut
    // short by a navigation). Ask again, as the browser did, with the context's own
    // cookies, so what the server hands out there is scanned too.
    const sent = await res
      .request()
      .allHeaders()
      .catch(() => ({}) as Record<string, string>);
    const again = Object.fromEntries(Object.entries(sent).filter(([k]) => !["cookie", "host", "content-length"].includes(k.toLowerCase())));
    const refetched = await ctx.request.get(url, { headers: again, maxRedirects: 0 }).catch(() => null);
    if (refetched) {
      recordResponse(
        { source: "browser", method, url, status: refetched.status(), headers: refetched.headersArray(), note: "re-fetched: the browser had no body to give" },
        await refetched.body().catch(() => null),
      );
    }
  }
}

/** CSP violations the browser reported while a test ran (console messages and the DOM event). */
export const cspViolations: string[] = [];

const CSP_MESSAGE = /Content[- ]Security[- ]Policy|securitypolicyviolation/i;

const recordedContexts = new WeakSet<BrowserContext>();

export async function recordBrowserContext(ctx: BrowserContext): Promise<BrowserContext> {
  if (recordedContexts.has(ctx)) return ctx;
  recordedContexts.add(ctx);
  ctx.on("response", (res) => track(recordBrowserResponse(ctx, res)));
  ctx.on("console", (msg) => {
    if (CSP_MESSAGE.test(msg.text())) cspViolations.push(`${msg.type()}: ${msg.text()} (${msg.location().url})`);
  });
  // Chromium logs violations to the console; the event also catches report-only cases.
  await ctx.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`securitypolicyviolation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  // Bodies can only be read while the context is open.
  const close = ctx.close.bind(ctx);
  ctx.close = async (options) => {
    await flushRecordings();
    return close(options);
  };
  return ctx;
}

/**
 * Records everything made through `browser.newContext` (the `context`/`page`
 * fixtures and contexts tests open themselves) and `playwright.request.newContext`
 * (the `request` fixture and the second people of e2e/support/auth.ts).
 */
export function installRecorder(playwright: PlaywrightWorkerArgs["playwright"], browser: Browser): () => void {
  const api = playwright.request;
  const newRequest = api.newContext.bind(api);
  api.newContext = async (options) => recordRequestContext(await newRequest(options));
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options) => recordBrowserContext(await newContext(options));
  return () => {
    api.newContext = newRequest;
    browser.newContext = newContext;
  };
}
