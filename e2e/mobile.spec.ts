// Phone width (390×844, touch): no page scrolls sideways, the header's links are on
// screen, tables are stacked rows, the key dialog is a full-screen sheet (and the
// terminal behind it keeps its size), and the touch key bar types what a keyboard
// would (sticky Ctrl/Alt, Esc, Tab, arrows, | ~ /, paste), with select-and-copy.
import type { Page } from "@playwright/test";
import { SIGNED_OUT } from "./support/auth";
import { e2e } from "./support/env";
import { expect, test, waitLive, waitForTerminal } from "./support/fixtures";
import { everyPage } from "./support/pages";
import { activeTabId, focusTerminal, lines } from "./support/terminal";

test.use({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 1 });

async function noSideScroll(page: Page, what: string): Promise<void> {
  const m = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
  expect(m.scroll, `${what}: page is ${m.scroll} px wide in a ${m.inner} px window`).toBeLessThanOrEqual(m.inner);
}

test("every page fits 390 px with no horizontal scroll; header links on screen; tables stacked", async ({ browser, page, request, workspace }) => {
  const pages = await everyPage(request, workspace);
  const signedOut = await browser.newContext({
    storageState: SIGNED_OUT,
    viewport: { width: 390, height: 844 },
    hasTouch: true,
    isMobile: true,
    baseURL: e2e.baseURL,
  });
  for (const p of pages) {
    const tab = p.signedOut ? await signedOut.newPage() : page;
    await tab.goto(p.path);
    await tab.waitForLoadState("networkidle");
    await noSideScroll(tab, p.name);
    if (!p.signedOut && p.name !== "not-found") {
      for (const name of ["Terminal", "Targets", "Members", "API tokens", "Audit"]) {
        const box = (await tab.getByRole("link", { name, exact: true }).boundingBox())!;
        expect(box.x + box.width, `${p.name}: ${name} link off-screen`).toBeLessThanOrEqual(390);
      }
      const out = (await tab.getByRole("button", { name: "Sign out" }).boundingBox())!;
      expect(out.x + out.width, `${p.name}: Sign out off-screen`).toBeLessThanOrEqual(390);
    }
    // Tables are stacked rows: the header row is hidden and cells carry their column's name.
    for (const table of await tab.locator("table").all()) {
      if (!(await table.isVisible())) continue;
      expect(await table.evaluate((t) => getComputedStyle(t).display)).toBe("block");
      const box = (await table.boundingBox())!;
      expect(box.x + box.width, `${p.name}: a table spills out`).toBeLessThanOrEqual(390);
    }
  }
  await signedOut.close();
});

test("the key dialog is a full-screen sheet with its close button on screen; the terminal behind keeps its size", async ({ page }) => {
  await page.goto("/");
  await waitLive(page);
  const host = page.locator(".terminal-view:not([hidden]) .terminal-host");
  const before = (await host.boundingBox())!.height;
  await page.getByRole("button", { name: "SSH access" }).tap();
  const dialog = page.getByRole("dialog", { name: "SSH access" });
  await expect(dialog).toBeVisible();
  const box = (await dialog.boundingBox())!;
  expect(box).toMatchObject({ x: 0, y: 0, width: 390 });
  expect(box.height).toBeGreaterThanOrEqual(840);
  const close = (await dialog.getByRole("button", { name: "Close" }).boundingBox())!;
  expect(close.x + close.width).toBeLessThanOrEqual(390);
  expect(close.x).toBeGreaterThanOrEqual(0);
  await noSideScroll(page, "terminal with the dialog open");
  for (const details of await dialog.locator("details").all()) await details.locator("summary").tap();
  await noSideScroll(page, "the dialog with every section open");
  const inner = await dialog.evaluate((d) => ({ scroll: d.scrollWidth, client: d.clientWidth }));
  expect(inner.scroll, "the dialog scrolls sideways").toBeLessThanOrEqual(inner.client);
  expect((await host.boundingBox())!.height).toBeGreaterThanOrEqual(before - 2);
  expect(before).toBeGreaterThan(300);
  await dialog.getByRole("button", { name: "Close" }).tap();
  await expect(dialog).toBeHidden();
});

test("touch key bar: sticky Ctrl and Alt, Esc, Tab, arrows, | ~ /, paste, and select to copy", async ({ page, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.goto("/");
  await waitLive(page);
  const tab = await activeTabId(page);
  const bar = page.getByRole("toolbar", { name: "Terminal keys" });
  await expect(bar).toBeVisible();
  await noSideScroll(page, "terminal with the key bar");
  await focusTerminal(page, tab);

  // | and ~ and / from the bar; arrows move the cursor: "echo abc" ← ← then X → "aXbc".
  await page.keyboard.type("echo one ");
  await bar.getByRole("button", { name: "Pipe" }).tap();
  await page.keyboard.type(" tr a-z A-Z; echo ");
  await bar.getByRole("button", { name: "Tilde" }).tap();
  await bar.getByRole("button", { name: "Slash" }).tap();
  await page.keyboard.type("; echo abc");
  await bar.getByRole("button", { name: "Left arrow" }).tap();
  await bar.getByRole("button", { name: "Left arrow" }).tap();
  await page.keyboard.type("X");
  await page.keyboard.press("Enter");
  const text = await waitForTerminal(page, /^aXbc$/m);
  expect(text).toMatch(/^ONE$/m);
  // ~/ expanded to the home directory (soft-wrapped at this width: read whole lines).
  expect((await lines(page, tab)).some((l) => /^\/\S*\/$/.test(l))).toBe(true);

  // Sticky Ctrl: Ctrl then "c" interrupts a running command.
  await page.keyboard.type("sleep 30; echo not-interrupted");
  await page.keyboard.press("Enter");
  await page.waitForTimeout(700); // sleep is running in the foreground
  const ctrl = bar.getByRole("button", { name: "Ctrl" });
  await ctrl.tap();
  await expect(ctrl).toHaveAttribute("aria-pressed", "true");
  await page.keyboard.type("c");
  await expect(ctrl).toHaveAttribute("aria-pressed", "false");
  await page.keyboard.type("echo after-ctrl-c");
  await page.keyboard.press("Enter");
  // Well before sleep's 30 s: the interrupt reached it, and the rest of its line was dropped.
  expect(await waitForTerminal(page, /^after-ctrl-c$/m, { timeout: 10_000 })).not.toMatch(/^not-interrupted$/m);

  // Sticky Alt: Alt then "b" moves a word back (readline): "echo tail" Alt-b "head-" → "head-tail".
  await page.keyboard.type("echo tail");
  await bar.getByRole("button", { name: "Alt" }).tap();
  await page.keyboard.type("b");
  await page.keyboard.type("head-");
  await page.keyboard.press("Enter");
  await waitForTerminal(page, /^head-tail$/m);

  // Tab completes a file name; Esc then "." is readline's yank-last-arg.
  await page.keyboard.type("touch zz_tabcomplete_file && echo touched");
  await page.keyboard.press("Enter");
  await waitForTerminal(page, /^touched$/m);
  await page.keyboard.type("ls zz_tabc");
  await bar.getByRole("button", { name: "Tab" }).tap();
  await page.keyboard.press("Enter");
  await waitForTerminal(page, /^zz_tabcomplete_file$/m);
  await page.keyboard.type("echo esc-last-arg");
  await page.keyboard.press("Enter");
  await page.keyboard.type("echo again-");
  await bar.getByRole("button", { name: "Escape" }).tap();
  await page.keyboard.type(".");
  await page.keyboard.press("Enter");
  await waitForTerminal(page, /^again-esc-last-arg$/m);

  // Paste from the clipboard.
  await page.evaluate(() => navigator.clipboard.writeText("echo pasted-ok"));
  await bar.getByRole("button", { name: "Paste" }).tap();
  // The paste reads the clipboard asynchronously: Enter only once the line is on the prompt.
  await waitForTerminal(page, /echo pasted-ok\s*$/m);
  await page.keyboard.press("Enter");
  await waitForTerminal(page, /^pasted-ok$/m);

  // Select: the screen's text in a natively selectable view; Copy all puts it on the clipboard.
  await bar.getByRole("button", { name: "Select" }).tap();
  const sel = page.getByTestId("touch-select-text");
  await expect(sel).toContainText("pasted-ok");
  expect(await sel.evaluate((el) => getComputedStyle(el).userSelect)).toBe("text");
  await page.getByRole("button", { name: "Copy all" }).tap();
  await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toContain("head-tail");
  await page.getByRole("button", { name: "Done" }).tap();
  await expect(sel).toBeHidden();
});
