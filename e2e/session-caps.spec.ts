// Issue 10 part 4 in the browser: past a per-person cap (here the unused-ticket cap,
// filled by a script of the same person), a new terminal tab shows the server's
// message, not a generic failure, and opens the shell once the person tries again
// after the cap has room. (The session cap answers the same way; app/api/session-caps.test.ts.)
import { addPerson, newBrowserContext } from "./support/auth";
import { expect, test, waitLive } from "./support/fixtures";
import { localTarget } from "./support/terminal";

test("past the per-person cap the new tab says why, and Try again opens it once there is room", async ({ browser, playwright, request, workspace }) => {
  const target = await localTarget(request, workspace);
  const person = await addPerson(playwright, request, workspace.id, "member", "capped");
  const ctx = await newBrowserContext(browser, person.request);
  const page = await ctx.newPage();
  await page.goto(`/w/${workspace.id}`);
  await waitLive(page);

  // The same person's script takes tickets and does not use them, up to the cap, and
  // keeps the cap full (a ticket that expires is taken again at once) until the tab
  // has asked: on a busy machine, filling the cap can take longer than a ticket lives.
  type Refusal = { status: number; body: { error: { code: string; message: string; details: { reason: string; limit: number } } } };
  let refused: Refusal | null = null;
  let filling = true;
  const filler = (async () => {
    while (filling) {
      const res = await person.request.post(`/api/workspaces/${workspace.id}/terminal/tickets`, { data: { targetId: target.id } });
      if (res.status() === 200) continue;
      refused ??= { status: res.status(), body: await res.json() };
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await expect.poll(() => refused !== null, { timeout: 60_000 }).toBe(true);
  const refusal = refused as Refusal | null;
  expect(refusal?.status).toBe(429);
  expect(refusal?.body.error).toMatchObject({ code: "rate_limited", details: { reason: "ticket_cap" } });

  await page.getByRole("button", { name: "New terminal" }).click();
  const status = page.locator('.terminal-view:not([hidden]) [data-testid="terminal-status"]');
  await expect(status).toHaveAttribute("data-state", "limited");
  filling = false;
  await filler;
  await expect(status).toContainText(refusal!.body.error.message.split(".")[0]!);
  await expect(status).toContainText("unused terminal tickets");
  await expect(status.getByTestId("terminal-try-again")).toBeVisible();

  // The unused tickets expire (MESHIA_TICKET_TTL, 5 s here); trying again then opens the shell.
  await expect(async () => {
    if ((await status.getAttribute("data-state")) === "limited") await status.getByTestId("terminal-try-again").click({ timeout: 1000 });
    await expect(status).toHaveAttribute("data-state", "live", { timeout: 2000 });
  }).toPass({ timeout: 20_000 });
  await ctx.close();
  await person.request.dispose();
});
