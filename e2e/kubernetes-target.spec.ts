// A compute pod's boots without Kubernetes: deploy/target/meshia-target-entrypoint run
// as it is, as the pod template (deploy/kubernetes/compute/target.yaml) runs it — its
// environment resolved from that template against "the Secret" (the registration's
// target.conf, read as `kubectl create secret --from-env-file` reads it) and the pod's
// public-port annotation, with the template's capabilities and no_new_privs — against
// a real sshd on 127.0.0.3:2224. A TCP forwarder on another port of 127.0.0.3 stands
// for the NodePort: the port people are given is not the one sshd listens on.
//
// The image itself is never built here (no Docker daemon): the entrypoint, the
// scripts and the drop-ins it would hold are what runs.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { APIRequestContext } from "@playwright/test";
import { parseAllDocuments } from "yaml";
import { expect, ssh, test, writeKeyFile, type SshResult } from "./support/fixtures";
import { run, sshdUnavailable, type SshdTarget } from "./support/sshd";

const HOST = "127.0.0.3";
const SSHD_PORT = Number(process.env.E2E_SSHD_PORT_4 ?? 2224);
const TEMPLATE = path.resolve("deploy/kubernetes/compute/target.yaml");
const PUBLIC_PORT_ANNOTATION = "meshia.io/public-port";
const CONF = "/etc/meshia/target.conf";

test.describe.configure({ mode: "serial" });
test.skip(() => sshdUnavailable() !== null, sshdUnavailable() ?? "");

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface PodTemplate {
  annotations: Record<string, string>;
  env: EnvVar[];
  capabilities: string[];
  noNewPrivileges: boolean;
  secretName: string;
}
interface TargetView {
  id: string;
  status: string;
  port: number | null;
  bootId: string | null;
  hostKeyFingerprint: string | null;
  sshCommand: string | null;
}

function podTemplate(): PodTemplate {
  const docs = parseAllDocuments(readFileSync(TEMPLATE, "utf8")).map(
    (d) => d.toJS() as { kind: string; metadata: { annotations?: Record<string, string> }; spec: unknown },
  );
  const pod = docs.find((d) => d.kind === "Pod")!;
  const container = (
    pod.spec as { containers: { env: EnvVar[]; securityContext: { allowPrivilegeEscalation?: boolean; capabilities: { drop: string[]; add: string[] } } }[] }
  ).containers[0]!;
  const sc = container.securityContext;
  expect(sc.capabilities.drop).toEqual(["ALL"]);
  const secretName = container.env.find((e) => e.valueFrom?.secretKeyRef)!.valueFrom!.secretKeyRef!.name;
  return {
    annotations: pod.metadata.annotations ?? {},
    env: container.env,
    capabilities: sc.capabilities.add,
    noNewPrivileges: sc.allowPrivilegeEscalation === false,
    secretName,
  };
}

/** A Secret made with `kubectl create secret generic … --from-env-file=target.conf`. */
function secretFromEnvFile(text: string): Map<string, string> {
  const data = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (!line.trim() || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    data.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return data;
}

/** The container's environment as the kubelet resolves the template's env for a pod with `annotations`. */
function containerEnv(tpl: PodTemplate, secret: Map<string, string>, annotations: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of tpl.env) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) {
      const v = secret.get(e.valueFrom.secretKeyRef.key);
      if (v === undefined) throw new Error(`the Secret has no key ${e.valueFrom.secretKeyRef.key}`);
      env[e.name] = v;
    } else if (e.valueFrom?.fieldRef) {
      const m = /^metadata\.annotations\['([^']+)'\]$/.exec(e.valueFrom.fieldRef.fieldPath);
      if (!m) throw new Error(`fieldRef ${e.valueFrom.fieldRef.fieldPath} is not resolved by this test`);
      env[e.name] = annotations[m[1]!] ?? "";
    } else throw new Error(`env ${e.name}: a source this test does not resolve`);
  }
  return env;
}

/** Stands for the Service's NodePort: a port of its own on 127.0.0.3, forwarding to sshd. */
async function nodePort(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(SSHD_PORT, HOST);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => s.destroy());
      s.on("close", () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, HOST);
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", (err: NodeJS.ErrnoException) => resolve(err.code === "ECONNREFUSED"));
  });
}

async function getTarget(request: APIRequestContext, ws: string, id: string): Promise<TargetView> {
  const res = await request.get(`/api/workspaces/${ws}/targets/${id}`);
  expect(res.ok()).toBeTruthy();
  return (await res.json()) as TargetView;
}

function expectLoggedIn(r: SshResult, what: string, out = "ok"): void {
  expect(r.code, `${what}: ${r.stderr}`).toBe(0);
  expect(r.stdout.trim(), what).toBe(out);
}

const st = {
  ws: "",
  id: "",
  token: "",
  conf: "",
  key: "",
  keyDir: "",
  target: null as SshdTarget | null,
  tpl: null as PodTemplate | null,
  forwarders: [] as { close: () => Promise<void> }[],
};

test.beforeAll(() => {
  st.keyDir = mkdtempSync(path.join(os.tmpdir(), "meshia-e2e-k8s-"));
});
test.afterAll(async () => {
  for (const f of st.forwarders) await f.close();
  if (st.keyDir) rmSync(st.keyDir, { recursive: true, force: true });
});

/** One boot: a new public port (the NodePort), the pod's environment, the entrypoint; waits for the boot report. */
async function boot(request: APIRequestContext, t: SshdTarget): Promise<{ port: number; view: TargetView; env: Record<string, string> }> {
  const fwd = await nodePort();
  st.forwarders.push(fwd);
  const tpl = st.tpl!;
  const env = containerEnv(tpl, secretFromEnvFile(st.conf), { ...tpl.annotations, [PUBLIC_PORT_ANNOTATION]: String(fwd.port) });
  await t.startEntrypoint({ env, capabilities: tpl.capabilities, noNewPrivileges: tpl.noNewPrivileges });
  let view: TargetView | null = null;
  await expect
    .poll(
      async () => {
        view = await getTarget(request, st.ws, st.id);
        return `${view.status} ${view.bootId} ${view.port}`;
      },
      { timeout: 20_000, message: `the entrypoint's agent never reported boot ${t.bootId}` },
    )
    .toBe(`live ${t.bootId} ${fwd.port}`);
  return { port: fwd.port, view: view!, env };
}

function knownHosts(t: SshdTarget, port: number, name: string): string {
  const [type, b64] = t.hostKeyLine().split(" ");
  const file = path.join(st.keyDir, name);
  writeFileSync(file, `[${HOST}]:${port} ${type} ${b64}\n`);
  return file;
}

test("a compute pod boots through the entrypoint: target.conf from the Secret, the boot's public port, logins with the workspace key", async ({
  request,
  sshd,
}) => {
  const ws = await request.post("/api/workspaces", { data: { name: "Kubernetes" } });
  expect(ws.status()).toBe(201);
  st.ws = ((await ws.json()) as { id: string }).id;
  const reg = await request.post(`/api/workspaces/${st.ws}/targets`, { data: { name: "pod", host: HOST } });
  expect(reg.status(), await reg.text()).toBe(201);
  const registration = (await reg.json()) as { target: TargetView; token: string; install: Record<string, string> };
  st.id = registration.target.id;
  st.token = registration.token;
  st.conf = registration.install[CONF]!;
  const key = await request.post(`/api/workspaces/${st.ws}/key`);
  expect(key.status()).toBe(200);
  st.key = writeKeyFile(st.keyDir, await key.text(), "pod.pem");
  st.tpl = podTemplate();

  // The image's drop-in, not the registration's: what the container really holds.
  const t = sshd.target({ name: "pod", host: HOST, port: SSHD_PORT, conf: st.conf, dropIn: readFileSync("deploy/target/sshd_config.d/meshia.conf", "utf8") });
  st.target = t;
  const { port, view, env } = await boot(request, t);
  expect(env.MESHIA_TARGET_TOKEN).toBe(st.token);
  expect(env.MESHIA_PUBLIC_PORT).toBe(String(port));

  // Fresh host keys, made at start, are the ones reported and pinned.
  expect(view.hostKeyFingerprint).toBe(await t.hostKeyFingerprint());
  expect(view.sshCommand).toMatch(new RegExp(`-p ${port} mesh@127\\.0\\.0\\.3$`));
  // target.conf as the operator's install would leave it: root:nogroup 0640, this boot's port.
  const conf = statSync(t.confPath);
  expect({ uid: conf.uid, gid: conf.gid, mode: (conf.mode & 0o777).toString(8) }).toEqual({ uid: 0, gid: 65534, mode: "640" });
  expect(t.conf()).toContain(`MESHIA_PUBLIC_PORT=${port}\n`);
  expect(t.conf()).toContain(`MESHIA_TARGET_TOKEN=${st.token}\n`);

  // The token stays in target.conf: neither sshd nor the agent (as nobody) has it in its environment.
  const children = t.entrypointChildren();
  const sshdPid = t.sshdPid();
  expect(children.map((c) => c.pid)).toContain(sshdPid);
  const agent = children.find((c) => c.args.includes("meshia-target-agent"));
  expect(agent, JSON.stringify(children)).toBeTruthy();
  expect(statSync(`/proc/${agent!.pid}`).uid).toBe(65534);
  for (const pid of [sshdPid!, agent!.pid]) expect(readFileSync(`/proc/${pid}/environ`, "utf8")).not.toContain(st.token);

  // People log in through the public port with the workspace key; the host key is the pinned one.
  const hosts = knownHosts(t, port, "known_hosts_1");
  expectLoggedIn(await ssh({ key: st.key, host: HOST, port, command: "echo ok", knownHosts: hosts }), "through the NodePort");
  expectLoggedIn(await ssh({ key: st.key, host: HOST, port, command: "id -un", knownHosts: hosts }), "as mesh", "mesh");
  // A pty (sshd hands it to mesh: CHOWN and FOWNER among the pod's capabilities).
  const tty = await ssh({ key: st.key, host: HOST, port, command: "tty", knownHosts: hosts, extra: ["-tt"] });
  expect(tty.code, tty.stderr).toBe(0);
  expect(tty.stdout.trim()).toMatch(/^\/dev\/pts\/\d+$/);
  // Keys come from the control plane at each login (the image's AuthorizedKeysCommand as nobody).
  expect(t.log()).toMatch(/Accepted publickey for mesh from 127\.0\.0\.\d+ port \d+ ssh2: RSA SHA256:/);
});

test("SIGTERM (the pod deleted) stops sshd, reports the stop, and the entrypoint exits 0", async ({ request }) => {
  const t = st.target!;
  const sshdPid = t.sshdPid()!;
  const code = await t.stopEntrypoint("SIGTERM");
  expect(code, t.log().slice(-2000)).toBe(0);
  // The stop was reported before the entrypoint exited: stopped now, not a live window later.
  expect((await getTarget(request, st.ws, st.id)).status).toBe("stopped");
  expect(t.log()).toContain("meshia-target-entrypoint: SIGTERM: stopping sshd, then reporting stop");
  expect(t.log()).toContain("meshia-target-entrypoint: stopped");
  // sshd is gone and nothing listens.
  expect(() => process.kill(sshdPid, 0)).toThrow();
  expect(await refused(SSHD_PORT)).toBe(true);
  const keys = await request.get(`/api/targets/${st.id}/authorized-keys?user=mesh`, { headers: { Authorization: `Bearer ${st.token}` } });
  expect(await keys.text()).toBe("");
});

test("the next boot gets its own public port, host keys and boot id; if sshd dies, the stop is reported and the entrypoint fails", async ({ request }) => {
  const t = st.target!;
  const before = await getTarget(request, st.ws, st.id);
  const { port, view } = await boot(request, t);
  expect(view.bootId).not.toBe(before.bootId);
  expect(port).not.toBe(before.port);
  expect(view.hostKeyFingerprint).not.toBe(before.hostKeyFingerprint);
  expectLoggedIn(await ssh({ key: st.key, host: HOST, port, command: "echo ok", knownHosts: knownHosts(t, port, "known_hosts_2") }), "second boot");

  // sshd killed under it: the container must end (the kubelet restarts it: a new boot).
  process.kill(t.sshdPid()!, "SIGKILL");
  expect(await t.entrypointExit()).toBe(1);
  expect(t.log()).toMatch(/meshia-target-entrypoint: sshd exited \(137\): reporting stop/);
  expect((await getTarget(request, st.ws, st.id)).status).toBe("stopped");
});

test("the entrypoint refuses to start without the Secret's values or a usable public port, before starting anything", async () => {
  const t = st.target!;
  const env = containerEnv(st.tpl!, secretFromEnvFile(st.conf), { ...st.tpl!.annotations, [PUBLIC_PORT_ANNOTATION]: "30222" });
  const cases: [Record<string, string>, RegExp][] = [
    [{ ...env, MESHIA_PUBLIC_PORT: "" }, /MESHIA_PUBLIC_PORT must be this boot's public port/],
    [{ ...env, MESHIA_PUBLIC_PORT: "70000" }, /MESHIA_PUBLIC_PORT must be 1-65535/],
    [{ ...env, MESHIA_URL: "" }, /MESHIA_URL must be the control plane's http\(s\) URL/],
    [{ ...env, MESHIA_TARGET_TOKEN: `${st.token}\nMESHIA_URL=http://evil.example` }, /MESHIA_TARGET_TOKEN must be one line/],
  ];
  rmSync(t.confPath, { force: true });
  const [cmd, args] = t.entrypointCommand({ capabilities: st.tpl!.capabilities, noNewPrivileges: true });
  for (const [e, why] of cases) {
    const r = await run(cmd, args, { env: t.entrypointEnv(e) });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(why);
    expect(r.stderr).not.toContain(st.token);
  }
  expect(await refused(SSHD_PORT)).toBe(true);
});
