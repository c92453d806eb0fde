// At 1× pixel density the underscore used to fall outside its cell ("x86_64" read
// "x86 64"): render "_" in the terminal and check that its cell has lit pixels.
import { expect, test, waitLive } from "./support/fixtures";

test.use({ deviceScaleFactor: 1, viewport: { width: 1280, height: 800 } });

test("an underscore is visible at 1x", async ({ page }) => {
  await page.goto("/");
  await waitLive(page);
  const tab = await page.locator(".terminal-view:not([hidden])").getAttribute("data-tab");
  // Written locally (not through the shell): clear the screen, then "_" alone on row 1, column 1.
  await page.evaluate((id) => new Promise<void>((r) => window.__meshiaTest!.terminals[id!]!.term.write("\x1b[?25l\x1b[2J\x1b[H_", () => r())), tab);
  await page.waitForTimeout(200);
  const screen = page.locator(".terminal-view:not([hidden]) .xterm-screen");
  const box = (await screen.boundingBox())!;
  const size = await page.evaluate((id) => {
    const t = window.__meshiaTest!.terminals[id!]!.term;
    return { cols: t.cols, rows: t.rows };
  }, tab);
  const cell = { width: box.width / size.cols, height: box.height / size.rows };
  const png = await page.screenshot({ clip: { x: box.x, y: box.y, width: Math.ceil(cell.width), height: Math.ceil(cell.height) } });
  // Decoded by the browser itself (no PNG library): pixels brighter than the background.
  const { lit, litBottomHalf, width, height } = await page.evaluate(async (b64) => {
    // An <img> (img-src allows data:), not fetch (connect-src does not).
    const bmp = new Image();
    bmp.src = `data:image/png;base64,${b64}`;
    await bmp.decode();
    const canvas = document.createElement("canvas");
    canvas.width = bmp.width;
    canvas.height = bmp.height;
    const ctx = canvas.getContext("2d")!;
    ctx.drawImage(bmp, 0, 0);
    const data = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
    let lit = 0;
    let litBottomHalf = 0;
    for (let y = 0; y < bmp.height; y++) {
      for (let x = 0; x < bmp.width; x++) {
        const i = (y * bmp.width + x) * 4;
        if ((data[i]! + data[i + 1]! + data[i + 2]!) / 3 > 80) {
          lit++;
          if (y >= bmp.height / 2) litBottomHalf++;
        }
      }
    }
    return { lit, litBottomHalf, width: bmp.width, height: bmp.height };
  }, png.toString("base64"));
  expect(lit, `no lit pixels in the "_" cell (${width}×${height})`).toBeGreaterThan(2);
  expect(litBottomHalf).toBe(lit);
});
