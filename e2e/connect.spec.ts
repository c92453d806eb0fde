// Connecting from one's own machine (issue 11): the labelled SSH button, per-OS
// commands, the ssh config with known_hosts and editor links (run for real with
// the OpenSSH client), the port-changed notice after a real reboot, port
// forwarding, Test connection (and that it is no port scanner), the key file name,
// the loopback note, and no Copy before a key exists.
import { writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import type { Page } from "@playwright/test";
import { addPerson, createWorkspace } from "./support/auth";
import { expect, freePort, ssh, sshSpawn, test, waitLive, writeKeyFile } from "./support/fixtures";
import { localTarget } from "./support/terminal";

async function openDialog(page: Page) {
  await page.goto("/");
  await waitLive(page);
  await page.getByRole("button", { name: "SSH access" }).click();
  const dialog = page.getByRole("dialog", { name: "SSH access" });
  await expect(dialog).toBeVisible();
  return dialog;
}

/** True when no word of the element's text is split across two lines. */
async function noWordSplit(page: Page, testId: string): Promise<string[]> {
  return page.getByTestId(testId).evaluate((el) => {
    const node = el.firstChild as Text;
    const text = node.textContent ?? "";
    const split: string[] = [];
    const re = /\S+/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const r = document.createRange();
      r.setStart(node, m.index);
      r.setEnd(node, m.index + m[0].length);
      const tops = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));
      if (tops.size > 1) split.push(m[0]);
    }
    return split;
  });
}

test("unknown paths say no such page; unknown workspaces say no such workspace", async ({ page }) => {
  expect((await page.goto("/no/such/page"))?.status()).toBe(404);
  await expect(page.getByText("There is no page at this address.")).toBeVisible();
  await expect(page.getByText("no such workspace")).toHaveCount(0);
  expect((await page.goto("/w/00000000-0000-4000-8000-000000000000"))?.status()).toBe(404);
  await expect(page.getByText("There is no such workspace here.")).toBeVisible();
});

test("the SSH button is labelled and big enough; the panel header opens the same dialog; + is a proper target", async ({ page }) => {
  await page.goto("/");
  await waitLive(page);
  const button = page.getByRole("button", { name: "SSH access" });
  await expect(button).toHaveText("SSH");
  const box = (await button.boundingBox())!;
  expect(box.width).toBeGreaterThanOrEqual(44);
  expect(box.height).toBeGreaterThanOrEqual(28);
  const plus = (await page.getByRole("button", { name: "New terminal" }).boundingBox())!;
  // Well above the 24 px minimum target of WCAG 2.5.8 (it was a bare 14 px icon).
  expect(plus.width).toBeGreaterThanOrEqual(30);
  expect(plus.height).toBeGreaterThanOrEqual(30);
  await page.getByRole("button", { name: "Connect via SSH" }).click();
  await expect(page.getByRole("dialog", { name: "SSH access" })).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(page.getByRole("button", { name: "Connect via SSH" })).toBeFocused();
});

test.describe("connect from your own machine", () => {
  test.describe.configure({ mode: "serial" });
  let pem = "";

  test("no key yet: no Copy command, the dialog says to generate first; then the warning and focus after Regenerate", async ({ page, request, workspace }) => {
    expect([204, 404]).toContain((await request.delete(`/api/workspaces/${workspace.id}/key`)).status());
    const dialog = await openDialog(page);
    await expect(dialog.getByTestId("no-key-yet")).toContainText("Generate the workspace key in step 1 first");
    await expect(dialog.getByTestId("ssh-command")).toBeVisible();
    await expect(dialog.getByRole("button", { name: "Copy command" })).toHaveCount(0);

    await dialog.getByRole("button", { name: "Generate" }).click();
    await expect(dialog.getByRole("button", { name: `Download meshia_key.pem` })).toBeFocused();
    const warning = dialog.getByTestId("one-time-warning");
    await expect(warning).toContainText("This is the only time the private key is shown");
    // Not small grey text: full size, bold, in the warning colour.
    const style = await warning
      .locator("strong")
      .evaluate((el) => ({ size: parseFloat(getComputedStyle(el).fontSize), weight: getComputedStyle(el).fontWeight }));
    expect(style.size).toBeGreaterThanOrEqual(14);
    expect(Number(style.weight)).toBeGreaterThanOrEqual(600);
    await expect(dialog.getByTestId("no-key-yet")).toHaveCount(0);
    await expect(dialog.getByRole("button", { name: "Copy command" })).toBeVisible();

    await dialog.getByRole("button", { name: "Regenerate", exact: true }).click();
    await dialog.getByRole("button", { name: "Regenerate key" }).click();
    // Focus lands on what comes next (Download), not on Revoke.
    await expect(dialog.getByRole("button", { name: `Download meshia_key.pem` })).toBeFocused();
    const res = await request.post(`/api/workspaces/${workspace.id}/key`);
    expect(res.status()).toBe(200);
    pem = await res.text();
  });

  test("per-OS tabs: macOS/Linux keeps the seed's command; PowerShell and WSL; Windows is picked on Windows; no word split", async ({
    page,
    request,
    workspace,
  }) => {
    const target = await localTarget(request, workspace);
    const dialog = await openDialog(page);
    const seed = `chmod 600 ~/Downloads/meshia_key.pem && ssh -i ~/Downloads/meshia_key.pem -p ${target.port} mesh@${target.host}`;
    await expect(dialog.getByRole("tab", { name: "macOS / Linux" })).toHaveAttribute("aria-selected", "true");
    await expect(dialog.getByTestId("ssh-command")).toHaveText(seed);
    expect(await noWordSplit(page, "ssh-command")).toEqual([]);

    await dialog.getByRole("tab", { name: "Windows PowerShell" }).click();
    const ps = (await dialog.getByTestId("ssh-command").textContent()) ?? "";
    expect(ps).toContain('icacls "$env:USERPROFILE\\Downloads\\meshia_key.pem" /inheritance:r /grant:r "${env:USERNAME}:(R)"');
    expect(ps).toContain(`ssh -i "$env:USERPROFILE\\Downloads\\meshia_key.pem" -p ${target.port} mesh@${target.host}`);
    expect(ps).not.toMatch(/chmod|&&/);

    await dialog.getByRole("tab", { name: "WSL" }).click();
    const wsl = (await dialog.getByTestId("ssh-command").textContent()) ?? "";
    expect(wsl).toMatch(
      /^mkdir -p ~\/\.ssh && cp .*\/Downloads"\/meshia_key\.pem ~\/\.ssh\/meshia_key\.pem && chmod 600 ~\/\.ssh\/meshia_key\.pem && ssh -i ~\/\.ssh\/meshia_key\.pem/,
    );

    // A phone-width dialog: still no word cut in two.
    await page.setViewportSize({ width: 360, height: 780 });
    await dialog.getByRole("tab", { name: "macOS / Linux" }).click();
    expect(await noWordSplit(page, "ssh-command")).toEqual([]);

    const win = await page
      .context()
      .browser()!
      .newContext({ storageState: await page.context().storageState(), baseURL: page.url().replace(/\/w\/.*$/, "") });
    // Chromium reports its platform twice (navigator.platform and the newer userAgentData); Windows in both.
    await win.addInitScript(() => {
      Object.defineProperty(navigator, "platform", { get: () => "Win32" });
      Object.defineProperty(navigator, "userAgentData", { get: () => ({ platform: "Windows", brands: [], mobile: false }) });
    });
    const winPage = await win.newPage();
    const winDialog = await openDialog(winPage);
    await expect(winDialog.getByRole("tab", { name: "Windows PowerShell" })).toHaveAttribute("aria-selected", "true");
    await win.close();
  });

  test("loopback host: the dialog says where the command works and names MESHIA_TARGET_PUBLIC_HOST; fingerprints name the key type", async ({ page }) => {
    const dialog = await openDialog(page);
    await expect(dialog.getByTestId("loopback-note")).toContainText("works only on the machine Meshia runs on");
    await expect(dialog.getByTestId("loopback-note")).toContainText("MESHIA_TARGET_PUBLIC_HOST");
    await expect(dialog.getByText(/ED25519 key fingerprint is SHA256:/)).toBeVisible();
  });

  test("ssh config: served to members only, works with the real ssh client and the known_hosts line, strictly", async ({
    page,
    context,
    request,
    workspace,
    keyDir,
    playwright,
  }) => {
    expect(pem).not.toBe("");
    const target = await localTarget(request, workspace);
    const res = await request.get(`/api/workspaces/${workspace.id}/targets/${target.id}/ssh-config`);
    expect(res.status()).toBe(200);
    const cfg = (await res.json()) as { alias: string; hostKeyAlias: string; config: string; knownHosts: string; vscodeUrl: string; cursorUrl: string };
    expect(cfg.config).toContain(
      `Host ${cfg.alias}\n  HostName ${target.host}\n  Port ${target.port}\n  User mesh\n  IdentityFile ~/Downloads/meshia_key.pem\n  IdentitiesOnly yes\n  HostKeyAlias ${cfg.hostKeyAlias}\n`,
    );
    expect(cfg.alias).toMatch(/^meshia-[a-z0-9-]+-local$/);
    expect(cfg.vscodeUrl).toMatch(new RegExp(`^vscode://vscode-remote/ssh-remote\\+${cfg.alias}/`));
    expect(cfg.cursorUrl).toMatch(new RegExp(`^cursor://vscode-remote/ssh-remote\\+${cfg.alias}/`));

    // Real OpenSSH: the entry and the known_hosts line, with strict host key checking (no "type yes").
    const key = writeKeyFile(keyDir, pem);
    const configFile = path.join(keyDir, "config");
    const knownHosts = path.join(keyDir, "known_hosts");
    writeFileSync(configFile, cfg.config.replace("~/Downloads/meshia_key.pem", key));
    writeFileSync(knownHosts, cfg.knownHosts);
    const r = await ssh({ key, host: cfg.alias, port: target.port!, command: "echo via-config", knownHosts, extra: ["-F", configFile] });
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: "via-config\n" });

    // Bad input and other workspaces' ids: JSON errors, like the other target routes.
    expect((await request.get(`/api/workspaces/${workspace.id}/targets/${target.id}/ssh-config?os=beos`)).status()).toBe(400);
    expect((await request.get(`/api/workspaces/${workspace.id}/targets/${target.id}/ssh-config?file=..%2Fx`)).status()).toBe(400);
    // A member makes a workspace of their own (workspace creation is limited per person, so not the owner's).
    const stranger = await addPerson(playwright, request, workspace.id, "member", "stranger");
    const other = await createWorkspace(stranger.request, "Connect other");
    for (const [who, ctx] of [
      ["owner", request],
      ["stranger", stranger.request],
    ] as const) {
      expect((await ctx.get(`/api/workspaces/${other}/targets/${target.id}/ssh-config`)).status(), who).toBe(404);
      expect((await ctx.post(`/api/workspaces/${other}/targets/${target.id}/connection-test`)).status(), who).toBe(404);
    }
    expect((await request.delete(`/api/workspaces/${workspace.id}/members/${stranger.userId}`)).status()).toBe(204);
    expect((await stranger.request.get(`/api/workspaces/${workspace.id}/targets/${target.id}/ssh-config`)).status()).toBe(404);
    expect((await stranger.request.post(`/api/workspaces/${workspace.id}/targets/${target.id}/connection-test`)).status()).toBe(404);
    await stranger.request.dispose();

    // The dialog: Copy gives the same entry; the editor links are there.
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    const dialog = await openDialog(page);
    await dialog.getByText("ssh config, VS Code and Cursor").click();
    await expect(dialog.getByTestId("ssh-config")).toHaveText(cfg.config.trimEnd());
    await dialog.getByRole("button", { name: "Copy ssh config" }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(cfg.config);
    await expect(dialog.getByTestId("known-hosts")).toContainText(cfg.hostKeyAlias);
    await expect(dialog.getByRole("link", { name: "Open in VS Code" })).toHaveAttribute("href", cfg.vscodeUrl);
    await expect(dialog.getByRole("link", { name: "Open in Cursor" })).toHaveAttribute("href", cfg.cursorUrl);
  });

  test("a new port after a reboot: the dialog says so and offers the updated entry; the known_hosts line still holds", async ({
    page,
    context,
    request,
    workspace,
    keyDir,
  }) => {
    const before = await localTarget(request, workspace);
    // Copy the entry in this browser first: the dialog remembers the port it had.
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    let dialog = await openDialog(page);
    await dialog.getByText("ssh config, VS Code and Cursor").click();
    await dialog.getByRole("button", { name: "Copy ssh config" }).click();
    await expect(dialog.getByTestId("port-changed")).toHaveCount(0);
    expect((await request.post(`/api/workspaces/${workspace.id}/targets/${before.id}/stop`)).status()).toBeLessThan(300);
    expect((await request.post(`/api/workspaces/${workspace.id}/targets/${before.id}/start`)).status()).toBeLessThan(300);
    await expect.poll(async () => (await localTarget(request, workspace)).status, { timeout: 20_000 }).toBe("live");
    const after = await localTarget(request, workspace);
    test.skip(after.port === before.port, "the target came back on the same port (pinned)");
    // The restored tab's session ended with the stop ("compute stopped"): the dialog opens all the same.
    await page.goto("/");
    await page.getByRole("button", { name: "SSH access" }).click();
    dialog = page.getByRole("dialog", { name: "SSH access" });
    const notice = dialog.getByTestId("port-changed");
    await expect(notice).toContainText(`new port: ${after.port}`);
    await expect(notice).toContainText(`it was ${before.port}`);
    await expect(dialog.getByTestId("ssh-config")).toContainText(`Port ${after.port}`);

    const cfg = (await (await request.get(`/api/workspaces/${workspace.id}/targets/${after.id}/ssh-config`)).json()) as {
      alias: string;
      config: string;
      knownHosts: string;
    };
    const key = writeKeyFile(keyDir, pem);
    const configFile = path.join(keyDir, "config");
    const knownHosts = path.join(keyDir, "known_hosts");
    writeFileSync(configFile, cfg.config.replace("~/Downloads/meshia_key.pem", key));
    writeFileSync(knownHosts, cfg.knownHosts);
    const r = await ssh({ key, host: cfg.alias, port: after.port!, command: "echo rebooted", knownHosts, extra: ["-F", configFile] });
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: "rebooted\n" });
  });

  test("port forwarding helper: presets, the -L command, and it forwards for real", async ({ page, context, request, workspace, keyDir }) => {
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    const target = await localTarget(request, workspace);
    const dialog = await openDialog(page);
    await dialog.getByText("Forward a port").click();
    await dialog.getByRole("button", { name: "TensorBoard 6006" }).click();
    await expect(dialog.getByTestId("forward-command")).toContainText("ssh -N -L 6006:localhost:6006 -i ~/Downloads/meshia_key.pem");
    await dialog.getByRole("button", { name: "Jupyter 8888" }).click();
    await expect(dialog.getByTestId("forward-command")).toContainText("-L 8888:localhost:8888");

    const body = `forwarded ${Math.random().toString(36).slice(2)}`;
    const server = http.createServer((_req, res) => res.end(body));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const remotePort = (server.address() as net.AddressInfo).port;
    const localPort = await freePort();
    await dialog.getByLabel("Port on the target").fill(String(remotePort));
    await dialog.getByLabel("Port on your machine").fill(String(localPort));
    await dialog.getByRole("button", { name: "Copy forward command" }).click();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toBe(
      `chmod 600 ~/Downloads/meshia_key.pem && ssh -N -L ${localPort}:localhost:${remotePort} -i ~/Downloads/meshia_key.pem -p ${target.port} mesh@${target.host}`,
    );

    const m = /ssh -N -L (\S+) -i \S+ -p (\d+) mesh@(\S+)$/.exec(copied)!;
    const tunnel = sshSpawn({ key: writeKeyFile(keyDir, pem), host: m[3]!, port: Number(m[2]), extra: ["-N", "-o", "ExitOnForwardFailure=yes", "-L", m[1]!] });
    try {
      await expect
        .poll(
          () =>
            fetch(`http://127.0.0.1:${localPort}/`).then(
              (r) => r.text(),
              () => "",
            ),
          { timeout: 15_000 },
        )
        .toBe(body);
    } finally {
      tunnel.kill();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test("Test connection: reachable with the pinned host key and a latency; anything else reads the same and is rate limited", async ({
    page,
    request,
    workspace,
    playwright,
  }) => {
    const dialog = await openDialog(page);
    await dialog.getByRole("button", { name: "Test connection" }).click();
    await expect(dialog.getByTestId("connection-test-result")).toContainText(
      /Reachable: the target answered with its pinned host key and accepted a login in \d+ ms/,
    );

    // Not a port scanner: a closed port and an unroutable address answer alike, after the same floor.
    const prober = await addPerson(playwright, request, workspace.id, "member", "prober");
    const other = await createWorkspace(prober.request, "Connection test");
    const answers: string[] = [];
    for (const [host, port] of [
      ["127.0.0.2", 1],
      ["192.0.2.44", 22],
    ] as const) {
      const reg = await prober.request.post(`/api/workspaces/${other}/targets`, { data: { name: `ct-${port}`, host, port } });
      expect(reg.status(), await reg.text()).toBe(201);
      const id = ((await reg.json()) as { target: { id: string } }).target.id;
      const start = Date.now();
      const res = await prober.request.post(`/api/workspaces/${other}/targets/${id}/connection-test`);
      expect(res.status()).toBe(200);
      expect(Date.now() - start).toBeGreaterThanOrEqual(4_900);
      answers.push(await res.text());
    }
    expect(answers[0]).toBe(answers[1]);
    expect(JSON.parse(answers[0]!)).toEqual({ reachable: false, message: "The target could not be reached from Meshia." });
    await prober.request.dispose();

    // Rate limited per person.
    const member = await addPerson(playwright, request, workspace.id, "member", "tester");
    const target = await localTarget(request, workspace);
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await member.request.post(`/api/workspaces/${workspace.id}/targets/${target.id}/connection-test`)).status());
    expect(statuses.slice(0, 6)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(statuses[6]).toBe(429);
    await member.request.dispose();
  });

  test("key file name: a second download warns and the name is editable; Save as… uses the chosen name", async ({ page, request, workspace }) => {
    const target = await localTarget(request, workspace);
    await page.addInitScript(() => localStorage.removeItem("meshia.keyDownloads"));
    const dialog = await openDialog(page);
    await dialog.getByRole("button", { name: "Regenerate", exact: true }).click();
    await dialog.getByRole("button", { name: "Regenerate key" }).click();
    for (let i = 0; i < 2; i++) {
      await Promise.all([page.waitForEvent("download"), dialog.getByRole("button", { name: "Download meshia_key.pem" }).click()]);
    }
    await expect(dialog.getByTestId("rename-warning")).toContainText("meshia_key (1).pem");
    await dialog.getByLabel("Key file name (in Downloads)").fill("meshia_key (1).pem");
    await expect(dialog.getByTestId("ssh-command")).toHaveText(
      `chmod 600 ~/Downloads/'meshia_key (1).pem' && ssh -i ~/Downloads/'meshia_key (1).pem' -p ${target.port} mesh@${target.host}`,
    );
    await dialog.getByLabel("Key file name (in Downloads)").fill("bad$(name).pem");
    await expect(dialog.getByText("Letters, digits, spaces")).toBeVisible();
    await expect(dialog.getByTestId("ssh-command")).toContainText("~/Downloads/meshia_key.pem");

    // showSaveFilePicker (stubbed: a headless browser cannot answer the real one).
    const picker = await page
      .context()
      .browser()!
      .newContext({ storageState: await page.context().storageState(), baseURL: page.url().replace(/\/w\/.*$/, "") });
    await picker.addInitScript(() => {
      const w = window as unknown as { showSaveFilePicker: unknown; __saved: string };
      w.__saved = "";
      w.showSaveFilePicker = async () => ({
        name: "work key.pem",
        createWritable: async () => ({ write: async (d: string) => void (w.__saved += d), close: async () => undefined }),
      });
    });
    const p2 = await picker.newPage();
    const d2 = await openDialog(p2);
    await d2.getByRole("button", { name: "Regenerate", exact: true }).click();
    await d2.getByRole("button", { name: "Regenerate key" }).click();
    await d2.getByRole("button", { name: "Save as…" }).click();
    await expect(d2.getByTestId("ssh-command")).toHaveText(
      `chmod 600 ~/Downloads/'work key.pem' && ssh -i ~/Downloads/'work key.pem' -p ${target.port} mesh@${target.host}`,
    );
    expect(await p2.evaluate(() => (window as unknown as { __saved: string }).__saved)).toMatch(/^-----BEGIN RSA PRIVATE\sKEY-----/);
    await picker.close();
  });
});
