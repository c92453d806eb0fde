// People for the browser tests. The owner is made once by e2e/auth.setup.ts (its
// session is every spec's default storageState); anyone else is invited through the
// API by an owner and accepts from a fresh, signed-out context, as a real invitee would.
import { randomBytes } from "node:crypto";
import type { APIRequestContext, Browser, BrowserContext, PlaywrightWorkerArgs } from "@playwright/test";
import { expect } from "./fixtures";
import { e2e } from "./env";

type Playwright = PlaywrightWorkerArgs["playwright"];
export type Role = "owner" | "member";

/** Nobody signed in. (Contexts made during a test otherwise inherit the owner's storageState.) */
export const SIGNED_OUT = { cookies: [], origins: [] };

export interface Person {
  name: string;
  email: string;
  password: string;
  userId: string;
  /** An API context signed in as this person. */
  request: APIRequestContext;
}

export function uniqueEmail(label: string): string {
  return `${label}-${randomBytes(4).toString("hex")}@e2e.example`;
}

/** A fresh API context: signed out unless `storageState` is given. */
export function newRequest(
  playwright: Playwright,
  storageState: string | Awaited<ReturnType<APIRequestContext["storageState"]>> = SIGNED_OUT,
): Promise<APIRequestContext> {
  return playwright.request.newContext({ baseURL: e2e.baseURL, storageState });
}

/** A browser context signed in as the person of `request` (or signed out). */
export async function newBrowserContext(browser: Browser, request?: APIRequestContext): Promise<BrowserContext> {
  return browser.newContext({ baseURL: e2e.baseURL, storageState: request ? await request.storageState() : SIGNED_OUT });
}

/** `name=value; …` of a context's cookies, for the raw WebSocket handshakes. */
export async function cookieHeader(ctx: APIRequestContext | BrowserContext): Promise<string> {
  const { cookies } = await ctx.storageState();
  return cookies.map((c) => `${c.name}=${c.value}`).join("; ");
}

/** Signs in through the API (browsers send Origin; better-auth wants it). */
export async function signIn(playwright: Playwright, email: string, password: string): Promise<APIRequestContext> {
  const request = await newRequest(playwright);
  const res = await request.post("/api/auth/sign-in/email", { data: { email, password }, headers: { Origin: e2e.origin } });
  expect(res.status(), await res.text()).toBe(200);
  return request;
}

export interface Invitation {
  id: string;
  email: string;
  role: Role;
  link: string;
}

export async function invite(owner: APIRequestContext, workspaceId: string, email: string, role: Role = "member"): Promise<Invitation> {
  const res = await owner.post(`/api/workspaces/${workspaceId}/invitations`, { data: { email, role } });
  expect(res.status(), await res.text()).toBe(201);
  return (await res.json()) as Invitation;
}

/** Accepts an invitation from a fresh context, creating the account; returns that person signed in. */
export async function acceptAsNewPerson(
  playwright: Playwright,
  inv: Invitation,
  name: string,
  password = `pw-${randomBytes(6).toString("hex")}`,
): Promise<Person> {
  const request = await newRequest(playwright);
  const res = await request.post(`/api/invitations/${inv.id}/accept`, { data: { name, password } });
  expect(res.status(), await res.text()).toBe(200);
  expect(res.headers()["set-cookie"]).toContain("meshia.session_token=");
  const me = await whoAmI(request);
  expect(me.email).toBe(inv.email);
  return { name, email: inv.email, password, userId: me.id, request };
}

/** Invites a new person into `workspaceId` with `role` and has them accept. */
export async function addPerson(playwright: Playwright, owner: APIRequestContext, workspaceId: string, role: Role, label: string): Promise<Person> {
  const inv = await invite(owner, workspaceId, uniqueEmail(label), role);
  return acceptAsNewPerson(playwright, inv, `${label[0]!.toUpperCase()}${label.slice(1)} Person`);
}

export async function whoAmI(request: APIRequestContext): Promise<{ id: string; email: string }> {
  const res = await request.get("/api/auth/get-session");
  expect(res.status()).toBe(200);
  const body = (await res.json()) as { user?: { id: string; email: string } } | null;
  if (!body?.user) throw new Error("not signed in");
  return { id: body.user.id, email: body.user.email };
}

export async function createWorkspace(request: APIRequestContext, name: string): Promise<string> {
  const res = await request.post("/api/workspaces", { data: { name } });
  expect(res.status(), await res.text()).toBe(201);
  return ((await res.json()) as { id: string }).id;
}
