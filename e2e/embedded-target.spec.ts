// The embedded target as a pod, in the browser: shells run as the sandboxed user
// `mesh` in the workspace volume; owners stop it (terminals and SSH connections end
// with "compute stopped") and start it again on a new port with the same host key
// and volume, and the tab offers a new session once it is back; only owners may.
import path from "node:path";
import { addPerson, createWorkspace } from "./support/auth";
import { e2e } from "./support/env";
import { expect, ssh, sshSpawn, test, waitLive, writeKeyFile } from "./support/fixtures";
import { activeTabId, localTarget, runAndRead, view } from "./support/terminal";

test("the browser terminal runs as mesh, without supplementary groups, in the workspace volume", async ({ page, workspace }) => {
  await page.goto(`/w/${workspace.id}`);
  await waitLive(page);
  const tab = await activeTabId(page);
  const out = await runAndRead(page, tab, 'whoami; id -G | wc -w; echo "$HOME"; pwd');
  expect(out).toEqual(["mesh", "1", path.join(e2e.volumesDir, workspace.id), path.join(e2e.volumesDir, workspace.id)]);
  // The prompt is mesh's, not root's.
  const text = await page.evaluate((t) => {
    const buf = window.__meshiaTest!.terminals[t]!.term.buffer.active;
    return Array.from({ length: buf.length }, (_, i) => buf.getLine(i)?.translateToString(true) ?? "").join("\n");
  }, tab);
  expect(text).toMatch(/mesh@/);
  expect(text).not.toMatch(/root@/);
});

test("owners stop and start the embedded target: everything on it ends with 'compute stopped', it comes back on a new port with the same host key and volume", async ({
  page,
  context,
  request,
  workspace,
  keyDir,
}) => {
  test.setTimeout(120_000);
  const before = await localTarget(request, workspace);
  expect(before.status).toBe("live");
  const pem = await (await request.post(`/api/workspaces/${workspace.id}/key`)).text();
  const key = writeKeyFile(keyDir, pem);
  // Later specs start from a workspace without a key.
  try {
    await stopAndStart();
  } finally {
    await request.delete(`/api/workspaces/${workspace.id}/key`);
  }

  async function stopAndStart() {
    await page.goto(`/w/${workspace.id}`);
    await waitLive(page);
    const tab = await activeTabId(page);
    expect(await runAndRead(page, tab, "echo survived > ~/kept.txt; echo written")).toEqual(["written"]);
    const held = sshSpawn({ key, host: before.host, port: before.port!, command: "sleep 120" });
    let heldErr = "";
    held.stderr!.on("data", (d: Buffer) => (heldErr += d.toString()));
    const heldExit = new Promise<number | null>((resolve) => held.on("exit", (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 1500)); // logged in and sleeping

    const targets = await context.newPage();
    await targets.goto(`/w/${workspace.id}/targets`);
    const row = targets.locator(`[data-testid="target-row"][data-target-id="${before.id}"]`);
    await row.getByRole("button", { name: "Stop local" }).click();
    await expect(row).toHaveAttribute("data-status", "stopped");

    // The terminal and the SSH connection ended, and said why.
    const status = view(page, tab).getByTestId("terminal-status");
    await expect(status).toHaveAttribute("data-state", "compute-stopped");
    await expect(status).toContainText("Compute stopped");
    await expect(status.getByRole("button", { name: "Start a new session" })).toHaveCount(0);
    expect(await heldExit).not.toBe(0);
    expect(heldErr).toContain("compute stopped");
    expect((await ssh({ key, host: before.host, port: before.port!, command: "true" })).code).toBe(255);

    await row.getByRole("button", { name: "Start local" }).click();
    await expect(row).toHaveAttribute("data-status", "live");
    const after = await localTarget(request, workspace);
    expect(after.port).not.toBe(before.port);
    expect(after.hostKeyFingerprint).toBe(before.hostKeyFingerprint);
    expect(after.sshCommand).toContain(`-p ${after.port} `);
    await expect(row).toContainText(`:${after.port}`);

    // The tab offers a new session once the target is back; the volume kept its files.
    await status.getByRole("button", { name: "Start a new session" }).click({ timeout: 15_000 });
    await waitLive(page);
    const fresh = await activeTabId(page);
    expect(await runAndRead(page, fresh, "cat ~/kept.txt")).toEqual(["survived"]);
    // The dialog's command is this boot's.
    await page.getByRole("button", { name: "SSH access" }).click();
    await expect(page.getByTestId("ssh-command")).toHaveText(after.sshCommand!);
    await page.keyboard.press("Escape");
    const r = await ssh({ key, host: after.host, port: after.port!, command: "cat kept.txt" });
    expect(r.stdout).toBe("survived\n");
    await targets.close();
  }
});

test("only owners stop and start it: members get 403, other workspaces 404", async ({ playwright, request, workspace }) => {
  const local = await localTarget(request, workspace);
  const member = await addPerson(playwright, request, workspace.id, "member", "stopper");
  for (const verb of ["stop", "start"]) {
    expect((await member.request.post(`/api/workspaces/${workspace.id}/targets/${local.id}/${verb}`)).status()).toBe(403);
  }
  const other = await createWorkspace(request, "Not the local one");
  const outsider = await addPerson(playwright, request, other, "owner", "outsider");
  for (const verb of ["stop", "start"]) {
    // The target is not in the caller's workspace, and the caller is not in the target's.
    expect((await request.post(`/api/workspaces/${other}/targets/${local.id}/${verb}`)).status()).toBe(404);
    expect((await outsider.request.post(`/api/workspaces/${workspace.id}/targets/${local.id}/${verb}`)).status()).toBe(404);
  }
  expect((await localTarget(request, workspace)).status).toBe("live");
});
