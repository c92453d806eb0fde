// First start, in the real browser: before any account exists the app points at the
// setup link; the link (MESHIA_SETUP_TOKEN, as the server printed it) creates the
// owner account, whose session every spec then uses (playwright.config.ts).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect, test as setup } from "./support/fixtures";
import { e2e } from "./support/env";

setup.describe.configure({ mode: "serial" });

setup("before setup: / says to open the setup link; a wrong token is refused and does not burn the real one", async ({ page, request }) => {
  // The server printed the link (on stderr, not in the JSON log lines).
  const log = readFileSync(e2e.serverLog, "utf8");
  expect(log).toContain(`${e2e.baseURL}/setup?token=${e2e.setupToken}`);
  expect(
    log
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .join("\n"),
  ).not.toContain(e2e.setupToken);

  await page.goto("/");
  await expect(page.getByText("No account exists yet. Open the setup link the server printed")).toBeVisible();
  expect((await request.get("/api/workspaces")).status()).toBe(401);
  await page.goto("/setup");
  await expect(page.getByText("Open the setup link the server printed when it started")).toBeVisible();
  // The workspace URL the server printed leads to sign-in, which points at the setup link too (no one can invite yet).
  await page.goto(`/w/00000000-0000-4000-8000-000000000000`);
  await expect(page).toHaveURL(/\/sign-in/);
  await expect(page.getByTestId("first-start")).toContainText("Open the setup link printed in the server's output");
  await expect(page.getByText("Ask a workspace owner for an invitation")).toHaveCount(0);

  // A guessed token: the form is shown (the page cannot tell), the server refuses.
  await page.goto("/setup?token=not-the-real-token-at-all");
  await page.getByLabel("Your name").fill("Mallory");
  await page.getByLabel("Email").fill("mallory@e2e.example");
  await page.getByLabel(/^Password/).fill("mallory-password-1");
  await page.getByRole("button", { name: "Create the owner account" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "This setup link is not valid" })).toBeVisible();
  await expect(page).toHaveURL(/\/setup\?token=not-the-real-token-at-all$/);
  expect((await request.get("/api/workspaces")).status()).toBe(401);
});

setup("the setup link creates the owner account in the browser and signs it in", async ({ page }) => {
  await page.goto(`/setup?token=${e2e.setupToken}`);
  await expect(page.getByText("Create the owner account of this Meshia. This link works once.")).toBeVisible();
  await page.getByLabel("Your name").fill(e2e.owner.name);
  await page.getByLabel("Email").fill(e2e.owner.email);
  await page.getByLabel(/^Password/).fill(e2e.owner.password);
  await page.getByRole("button", { name: "Create the owner account" }).click();
  await expect(page).toHaveURL(/\/w\/[0-9a-f-]{36}$/);
  await expect(page.locator(".workspace-header")).toContainText(e2e.owner.name);
  await expect(page.getByRole("tab", { name: /local/ })).toBeVisible();

  // The session cookie: httpOnly, SameSite=Lax, not readable by the page's scripts.
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "meshia.session_token");
  expect(session).toMatchObject({ httpOnly: true, sameSite: "Lax" });
  expect(await page.evaluate(() => document.cookie)).not.toContain("meshia.session_token");

  // Only the cookies: this page's localStorage holds its terminal tab, which every
  // spec would otherwise start with (and try to resume) instead of a fresh tab.
  const state = await page.context().storageState();
  mkdirSync(path.dirname(e2e.ownerState), { recursive: true, mode: 0o700 });
  writeFileSync(e2e.ownerState, JSON.stringify({ cookies: state.cookies, origins: [] }), { mode: 0o600 });
});
