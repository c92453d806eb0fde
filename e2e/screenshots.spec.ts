// Screenshots of every page (and the key dialog) at 1440×900 and 390×844 into the
// test artefacts (test-results/, not committed): what a person looks at before
// calling a layout change done. Each shot also checks there is no sideways scroll.
import { SIGNED_OUT } from "./support/auth";
import { e2e } from "./support/env";
import { expect, test, waitForTerminal, waitLive } from "./support/fixtures";
import { everyPage } from "./support/pages";

const SIZES = [
  { name: "desktop", viewport: { width: 1440, height: 900 }, touch: false },
  { name: "phone", viewport: { width: 390, height: 844 }, touch: true },
];

test("screenshots of every page at 1440×900 and 390×844", async ({ browser, request, workspace }, info) => {
  test.setTimeout(180_000);
  const pages = await everyPage(request, workspace);
  const owner = await request.storageState();
  for (const size of SIZES) {
    for (const signedOut of [false, true]) {
      const ctx = await browser.newContext({
        baseURL: e2e.baseURL,
        storageState: signedOut ? SIGNED_OUT : owner,
        viewport: size.viewport,
        hasTouch: size.touch,
        isMobile: size.touch,
      });
      const page = await ctx.newPage();
      for (const p of pages.filter((x) => !!x.signedOut === signedOut)) {
        await page.goto(p.path);
        if (p.name === "terminal") {
          await waitLive(page);
          await waitForTerminal(page, /\$/); // the prompt is drawn
        } else await page.waitForLoadState("networkidle");
        await page.screenshot({ path: info.outputPath(`${size.name}-${p.name}.png`), fullPage: true });
        const w = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
        expect(w[0], `${size.name} ${p.name}`).toBeLessThanOrEqual(w[1]!);
        if (p.name === "terminal") {
          await page.getByRole("button", { name: "SSH access" }).click();
          const dialog = page.getByRole("dialog", { name: "SSH access" });
          await expect(dialog.getByTestId("key-fingerprint").or(dialog.getByText("no key yet"))).toBeVisible();
          await page.screenshot({ path: info.outputPath(`${size.name}-dialog.png`) });
          for (const d of await dialog.locator("details").all()) await d.locator("summary").click();
          await dialog.evaluate((el) => el.scrollTo(0, el.scrollHeight));
          await page.screenshot({ path: info.outputPath(`${size.name}-dialog-sections.png`) });
          await page.keyboard.press("Escape");
        }
      }
      await ctx.close();
    }
  }
});
