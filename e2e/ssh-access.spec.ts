// The foundation, end to end: the workspace page, the key dialog (generate,
// download, copy, fingerprints, regenerate), the copied command run for real with
// the OpenSSH client against the embedded target (shell and port forwarding), and the
// key API's answers to bad input. That no private key material is kept anywhere is
// e2e/secret-scan.ts, which runs after every spec.
import { PKCS1_BEGIN, PKCS1_END } from "../lib/keys/workspace-key";
import { execFile } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import type { Page } from "@playwright/test";
import { expect, freePort, ssh, sshSpawn, test, waitLive, writeKeyFile, parseSshCommand } from "./support/fixtures";
import { localTarget } from "./support/terminal";

const PEM_SHAPE = new RegExp(`^${PKCS1_BEGIN}\\n(?:[A-Za-z0-9+/]{64}\\n)+[A-Za-z0-9+/]{1,63}={0,2}\\n${PKCS1_END}\\n$`);

function run(cmd: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** `ssh-keygen -lf -` of one public-key line: the SHA256 fingerprint as OpenSSH prints it. */
async function sshKeygenFingerprint(publicLine: string): Promise<string> {
  const r = await run("ssh-keygen", ["-lf", "-"], publicLine + "\n");
  expect(r.code, r.stderr).toBe(0);
  const fp = /SHA256:[A-Za-z0-9+/]+/.exec(r.stdout)?.[0];
  if (!fp) throw new Error(`no fingerprint in: ${r.stdout}`);
  return fp;
}

/** `ssh-keygen -y -f` on a 0600 copy of the PEM: its public half, as `type base64`. */
async function publicHalf(pem: string, dir: string): Promise<string> {
  const file = writeKeyFile(dir, pem, `derive-${Date.now()}-${Math.random().toString(36).slice(2)}.pem`);
  const r = await run("ssh-keygen", ["-y", "-f", file]);
  expect(r.code, r.stderr).toBe(0);
  return keyIdentity(r.stdout);
}

/** `type base64` of a public-key line (the comment is not part of the key). */
function keyIdentity(line: string): string {
  return line.trim().split(/\s+/).slice(0, 2).join(" ");
}

/** The ed25519 host key fingerprint `ssh-keyscan | ssh-keygen -lf -` reports. */
async function scannedHostKey(host: string, port: number): Promise<string> {
  const scan = await run("ssh-keyscan", ["-T", "10", "-t", "ed25519", "-p", String(port), host]);
  expect(scan.stdout, scan.stderr).toContain("ssh-ed25519");
  const r = await run("ssh-keygen", ["-lf", "-"], scan.stdout);
  expect(r.code, r.stderr).toBe(0);
  const line = r.stdout.split("\n").find((l) => l.includes("(ED25519)"));
  const fp = line && /SHA256:[A-Za-z0-9+/]+/.exec(line)?.[0];
  if (!fp) throw new Error(`no ED25519 fingerprint in: ${r.stdout}`);
  return fp;
}

async function clipboard(page: Page): Promise<string> {
  return page.evaluate(() => navigator.clipboard.readText());
}

/** Clicks Download and returns the file's text (and the download, to save a copy). */
async function downloadPem(page: Page) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download meshia_key.pem" }).click()]);
  expect(download.suggestedFilename()).toBe("meshia_key.pem");
  const file = await download.path();
  const pem = readFileSync(file, "utf8");
  return { pem, download };
}

function expectPkcs1Pem(pem: string): void {
  expect(pem).toMatch(PEM_SHAPE);
  // Parses as PKCS#1 specifically, and is the promised RSA-3072.
  const key = createPrivateKey({ key: pem, format: "pem", type: "pkcs1" });
  expect(key.asymmetricKeyType).toBe("rsa");
  expect(key.asymmetricKeyDetails?.modulusLength).toBe(3072);
}

test.describe("SSH access dialog and the real OpenSSH client", () => {
  test.describe.configure({ mode: "serial" });

  // PEMs (not files: each test's keyDir is removed when it ends).
  let firstPem = "";
  let secondPem = "";

  test("dialog: generate, download, copy, fingerprints, and the copied command works", async ({ page, context, request, workspace, keyDir }) => {
    // Start from "no key" whatever ran before, so the dialog offers Generate.
    const reset = await request.delete(`/api/workspaces/${workspace.id}/key`);
    expect([204, 200, 404]).toContain(reset.status());
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);

    await page.goto("/");
    await expect(page).toHaveURL(new RegExp(`/w/${workspace.id}$`));
    await expect(page.getByRole("tab", { name: /local/ })).toBeVisible();
    await waitLive(page);

    const keyButton = page.getByRole("button", { name: "SSH access" });
    await keyButton.click();
    const dialog = page.getByRole("dialog", { name: "SSH access" });
    await expect(dialog).toBeVisible();
    await expect(dialog).toHaveAccessibleDescription(/works on every live compute target/);

    // Esc closes it, and focus goes back to the key icon.
    await page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
    await expect(keyButton).toBeFocused();

    // Focus stays inside while tabbing either way.
    await keyButton.click();
    await expect(dialog).toBeVisible();
    await expect(dialog.getByRole("button", { name: "Generate" })).toBeVisible();
    for (const key of [
      "Tab",
      "Tab",
      "Tab",
      "Tab",
      "Tab",
      "Tab",
      "Tab",
      "Tab",
      "Shift+Tab",
      "Shift+Tab",
      "Shift+Tab",
      "Shift+Tab",
      "Shift+Tab",
      "Shift+Tab",
      "Shift+Tab",
    ]) {
      await page.keyboard.press(key);
      expect(await dialog.evaluate((d) => d.contains(document.activeElement)), `focus left the dialog after ${key}`).toBe(true);
    }

    await dialog.getByRole("button", { name: "Generate" }).click();
    const { pem, download } = await downloadPem(page);
    expectPkcs1Pem(pem);

    // Copy puts exactly the PEM on the clipboard.
    await dialog.getByRole("button", { name: "Copy", exact: true }).click();
    await expect.poll(() => clipboard(page)).toBe(pem);

    // The fingerprint shown is ssh-keygen's for the saved public key, which is the PEM's public half.
    const saved = await request.get(`/api/workspaces/${workspace.id}/key`);
    expect(saved.status()).toBe(200);
    const savedKey = (await saved.json()) as { publicKey: string; fingerprint: string; algorithm: string };
    const fp = await sshKeygenFingerprint(savedKey.publicKey);
    await expect(dialog.getByTestId("key-fingerprint")).toHaveText(fp);
    expect(savedKey.fingerprint).toBe(fp);
    expect(keyIdentity(savedKey.publicKey)).toBe(await publicHalf(pem, keyDir));

    // Copy command: exactly the documented command for this boot's host and port.
    const target = await localTarget(request, workspace);
    expect(target.status).toBe("live");
    const expected = `chmod 600 ~/Downloads/meshia_key.pem && ssh -i ~/Downloads/meshia_key.pem -p ${target.port} mesh@${target.host}`;
    await dialog.getByRole("button", { name: "Copy command" }).click();
    await expect.poll(() => clipboard(page)).toBe(expected);
    await expect(dialog.getByTestId("ssh-command")).toHaveText(expected);

    // Run it for real, the download standing in for ~/Downloads/meshia_key.pem.
    const keyFile = path.join(keyDir, "meshia_key.pem");
    await download.saveAs(keyFile);
    const command = expected.replaceAll("~/Downloads/meshia_key.pem", keyFile);
    const [chmod, sshPart] = command.split(" && ") as [string, string];
    expect((await run("sh", ["-c", chmod])).code).toBe(0);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const dest = parseSshCommand(sshPart);
    expect(dest).toEqual({ port: target.port, user: "mesh", host: target.host });
    const ok = await ssh({ key: keyFile, host: dest.host, port: dest.port, user: dest.user, command: "echo ok" });
    expect(ok, ok.stderr).toMatchObject({ code: 0, stdout: "ok\n" });

    // The login is in the workspace's SSH access audit: where it came from, with which key.
    await expect
      .poll(
        async () => {
          const { access } = (await (await request.get(`/api/workspaces/${workspace.id}/audit`)).json()) as {
            access: { kind: string; source: string | null; fingerprint: string | null; result: string; user: string }[];
          };
          return access.some((a) => a.kind === "login" && a.source === "127.0.0.1" && a.user === "mesh" && a.fingerprint === fp && a.result === "accepted");
        },
        { timeout: 10_000 },
      )
      .toBe(true);

    // The host key the dialog tells people to expect is the one the target presents.
    const shown = (await dialog.getByTestId("host-key-fingerprint").textContent())?.trim();
    expect(shown).toBe(await scannedHostKey(target.host, target.port!));
    firstPem = pem;
  });

  test("regenerate: behind a confirmation; the old key is refused at once, the new one accepted", async ({ page, context, request, workspace, keyDir }) => {
    expect(firstPem, "needs the first test's key").not.toBe("");
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    await page.goto("/");
    await waitLive(page);
    await page.getByRole("button", { name: "SSH access" }).click();
    const dialog = page.getByRole("dialog", { name: "SSH access" });
    const before = (await dialog.getByTestId("key-fingerprint").textContent())?.trim();
    expect(before).toMatch(/^SHA256:/);

    await dialog.getByRole("button", { name: "Regenerate", exact: true }).click();
    const confirm = dialog.getByRole("group", { name: /^Regenerate the key\?/ });
    await expect(confirm).toContainText("The old key stops working on all live compute");
    await expect(confirm).toContainText("1 live compute target");
    // Cancel first: nothing changes.
    await confirm.getByRole("button", { name: "Cancel" }).click();
    expect(((await (await request.get(`/api/workspaces/${workspace.id}/key`)).json()) as { fingerprint: string }).fingerprint).toBe(before);

    await dialog.getByRole("button", { name: "Regenerate", exact: true }).click();
    await dialog.getByRole("button", { name: "Regenerate key" }).click();
    const { pem, download } = await downloadPem(page);
    expectPkcs1Pem(pem);
    const saved = (await (await request.get(`/api/workspaces/${workspace.id}/key`)).json()) as { publicKey: string };
    await expect(dialog.getByTestId("key-fingerprint")).toHaveText(await sshKeygenFingerprint(saved.publicKey));
    await expect(dialog.getByTestId("key-fingerprint")).not.toHaveText(before!);

    const secondFile = path.join(keyDir, "meshia_key_2.pem");
    await download.saveAs(secondFile);
    await run("chmod", ["600", secondFile]);
    const target = await localTarget(request, workspace);
    const firstKey = writeKeyFile(keyDir, firstPem, "first.pem");
    const old = await ssh({ key: firstKey, host: target.host, port: target.port!, command: "echo ok" });
    expect(old.code).not.toBe(0);
    expect(old.stderr).toContain("Permission denied");
    const fresh = await ssh({ key: secondFile, host: target.host, port: target.port!, command: "echo ok" });
    expect(fresh, fresh.stderr).toMatchObject({ code: 0, stdout: "ok\n" });
    secondPem = pem;
  });

  test("ssh -L forwarding reaches a port on the target's machine", async ({ request, workspace, keyDir }) => {
    expect(secondPem, "needs the regenerated key").not.toBe("");
    const secondKey = writeKeyFile(keyDir, secondPem);
    const body = `hello through the tunnel ${Math.random().toString(36).slice(2)}`;
    const server = http.createServer((_req, res) => res.end(body));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const remotePort = (server.address() as net.AddressInfo).port;
    const localPort = await freePort();
    const target = await localTarget(request, workspace);
    const tunnel = sshSpawn({
      key: secondKey,
      host: target.host,
      port: target.port!,
      extra: ["-N", "-o", "ExitOnForwardFailure=yes", "-L", `${localPort}:127.0.0.1:${remotePort}`],
    });
    let stderr = "";
    tunnel.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    try {
      await expect
        .poll(
          async () => {
            if (tunnel.exitCode !== null) throw new Error(`ssh -L exited with ${tunnel.exitCode}: ${stderr}`);
            return fetch(`http://127.0.0.1:${localPort}/`).then(
              (r) => r.text(),
              () => "",
            );
          },
          { timeout: 15_000 },
        )
        .toBe(body);
    } finally {
      tunnel.kill();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

test.describe("key API: bad input", () => {
  test("unknown or malformed workspace ids are 404 JSON", async ({ request }) => {
    for (const id of ["00000000-0000-4000-8000-000000000000", "not-a-uuid", "%27%3B--", "0".repeat(300)]) {
      for (const method of ["get", "post", "delete"] as const) {
        const res = await request[method](`/api/workspaces/${id}/key`);
        expect(res.status(), `${method} ${id}`).toBe(404);
        expect(res.headers()["content-type"]).toContain("application/json");
        const body = (await res.json()) as { error: { code: string; message: string } };
        expect(body).toEqual({ error: { code: "not_found", message: expect.any(String) } });
      }
      // The workspace's other routes answer the same way.
      for (const [method, route] of [
        ["get", ""],
        ["get", "/targets"],
        ["post", "/terminal/tickets"],
      ] as const) {
        const res = await request[method](`/api/workspaces/${id}${route}`, method === "post" ? { data: { targetId: "x" } } : {});
        expect(res.status(), `${method} ${id}${route}`).toBe(404);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
      }
    }
  });

  test("PUT and PATCH are 405 JSON naming the allowed methods", async ({ request, workspace }) => {
    for (const method of ["put", "patch"] as const) {
      const res = await request[method](`/api/workspaces/${workspace.id}/key`, { data: { publicKey: "ssh-rsa AAAA" } });
      expect(res.status()).toBe(405);
      expect(res.headers()["allow"]).toBe("GET, POST, DELETE");
      expect(await res.json()).toEqual({ error: { code: "method_not_allowed", message: expect.any(String) } });
    }
  });

  test("a POST with a junk body still generates a key (the body is ignored)", async ({ request, workspace, keyDir }) => {
    for (const data of ["{not json", Buffer.from([0, 255, 1, 254]), JSON.stringify({ bits: 512, algorithm: "dsa", pem: "x" })]) {
      const res = await request.post(`/api/workspaces/${workspace.id}/key`, { data, headers: { "Content-Type": "application/json" } });
      expect(res.status()).toBe(200);
      expect(res.headers()["cache-control"]).toBe("no-store");
      const pem = await res.text();
      expectPkcs1Pem(pem);
      const current = (await (await request.get(`/api/workspaces/${workspace.id}/key`)).json()) as { publicKey: string; algorithm: string };
      expect(current.algorithm).toBe("RSA-3072");
      expect(keyIdentity(current.publicKey)).toBe(await publicHalf(pem, keyDir));
    }
  });

  test("two concurrent POSTs leave exactly one current key: the one whose response came last", async ({ request, workspace, keyDir }) => {
    const url = `/api/workspaces/${workspace.id}/key`;
    const arrived: string[] = [];
    await Promise.all(
      [0, 1].map(async () => {
        const res = await request.post(url);
        expect(res.status()).toBe(200);
        const pem = await res.text();
        arrived.push(pem);
      }),
    );
    expect(arrived).toHaveLength(2);
    expect(arrived[0]).not.toBe(arrived[1]);
    const [earlier, last] = [await publicHalf(arrived[0]!, keyDir), await publicHalf(arrived[1]!, keyDir)];
    const current = (await (await request.get(url)).json()) as { publicKey: string };
    expect(keyIdentity(current.publicKey)).toBe(last);

    // And only that one logs in: the other was replaced, not kept alongside.
    const target = await localTarget(request, workspace);
    const lastFile = writeKeyFile(keyDir, arrived[1]!, "last.pem");
    const earlierFile = writeKeyFile(keyDir, arrived[0]!, "earlier.pem");
    expect(earlier).not.toBe(last);
    const okLast = await ssh({ key: lastFile, host: target.host, port: target.port!, command: "echo ok" });
    expect(okLast, okLast.stderr).toMatchObject({ code: 0, stdout: "ok\n" });
    const refused = await ssh({ key: earlierFile, host: target.host, port: target.port!, command: "echo ok" });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("Permission denied");
  });

  test("cross-origin POST and DELETE are 403 and change nothing", async ({ request, workspace }) => {
    const url = `/api/workspaces/${workspace.id}/key`;
    const before = await (await request.get(url)).text();
    for (const method of ["post", "delete"] as const) {
      const res = await request[method](url, { headers: { Origin: "http://evil.example" } });
      expect(res.status(), method).toBe(403);
      expect(await res.json()).toEqual({ error: { code: "forbidden", message: expect.any(String) } });
    }
    expect(await (await request.get(url)).text()).toBe(before);
  });
});
