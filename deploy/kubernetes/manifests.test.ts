// The Kubernetes manifests and the images' build files, checked without a cluster or
// a Docker daemon: every object against the API's schemas (schema.ts), then what
// matters for Meshia (two instances with the health endpoints, secrets referenced and
// never inlined, an Ingress that keeps WebSockets open, a compute pod whose
// credentials come from a Secret and whose public port is set per boot). Each check
// is also run on a broken copy, so none of them passes by checking nothing.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "@/lib/config";
import { sshdConfig } from "@/lib/targets/install";
import { loadManifests, unknownFields, validateManifest, validateModel, type Manifest } from "./schema";

const REPO = path.resolve(import.meta.dirname, "../..");
const files = loadManifests(path.join(REPO, "deploy/kubernetes"));
const all = files.flatMap((f) => f.docs);
const copy = <T>(v: T): T => structuredClone(v);

// ---- narrow views of the objects (the schema check vouches for their shapes) ----------

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; fieldRef?: { fieldPath: string } };
}
interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
interface Container {
  name: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  securityContext?: { allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[]; add?: string[] } };
}
interface PodSpec {
  containers: Container[];
  automountServiceAccountToken?: boolean;
  enableServiceLinks?: boolean;
  terminationGracePeriodSeconds?: number;
}
interface ServiceSpec {
  type?: string;
  selector?: Record<string, string>;
  ports: { name?: string; port: number; targetPort?: string | number; nodePort?: number }[];
}

function only(docs: Manifest[], kind: string, name?: string): Manifest {
  const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
  return found[0]!;
}
const specOf = <T>(d: Manifest) => d.spec as T;
const deployment = (docs: Manifest[]) => only(docs, "Deployment", "meshia-control-plane");
const cpPod = (docs: Manifest[]) => specOf<{ replicas?: number; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } }>(deployment(docs));
const cpContainer = (docs: Manifest[]) => cpPod(docs).template.spec.containers[0]!;
const computePod = (docs: Manifest[]) => only(docs, "Pod");
const computeContainer = (docs: Manifest[]) => specOf<PodSpec>(computePod(docs)).containers[0]!;

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

// ---- the checks: each returns what is wrong ---------------------------------------------

const SECRET_ENV = ["DATABASE_URL", "MESHIA_AUTH_SECRET", "MESHIA_BRIDGE_SECRET", "MESHIA_METRICS_TOKEN", "MESHIA_SETUP_TOKEN", "MESHIA_TARGET_TOKEN"];

/** Secrets are referenced, never written: no Secret objects, no secret-named variable with a value. */
function secretProblems(docs: Manifest[]): string[] {
  const out: string[] = [];
  for (const d of docs) if (d.kind === "Secret") out.push(`Secret/${d.metadata.name} is inlined: create it with kubectl instead`);
  const containers = [
    ...docs.filter((d) => d.kind === "Deployment").map((d) => cpPod([d]).template.spec),
    ...docs.filter((d) => d.kind === "Pod").map((d) => specOf<PodSpec>(d)),
  ].flatMap((s) => s.containers);
  for (const c of containers) {
    for (const e of c.env ?? []) {
      if (SECRET_ENV.includes(e.name) && !e.valueFrom?.secretKeyRef) out.push(`${c.name}: ${e.name} must come from a secretKeyRef`);
      if (e.value !== undefined && /(postgres(ql)?:\/\/[^@\s]+@|mtt_[A-Za-z0-9_-]{20,}|[0-9a-f]{32,})/i.test(e.value))
        out.push(`${c.name}: ${e.name} looks like an inlined secret`);
    }
  }
  return out;
}

function controlPlaneProblems(docs: Manifest[]): string[] {
  const out: string[] = [];
  const pod = cpPod(docs);
  const c = cpContainer(docs);
  if (pod.replicas !== 2) out.push(`replicas is ${pod.replicas}, want 2`);
  const http = c.ports?.find((p) => p.containerPort === 3000);
  if (!http?.name) out.push("no named container port 3000");
  const probe = (p: Probe | undefined, want: string, what: string) => {
    if (p?.httpGet?.path !== want) out.push(`${what} is ${p?.httpGet?.path ?? "missing"}, want GET ${want}`);
    else if (p.httpGet.port !== http?.name && p.httpGet.port !== 3000) out.push(`${what} probes port ${p.httpGet.port}, not the server's`);
  };
  probe(c.readinessProbe, "/readyz", "readiness");
  probe(c.livenessProbe, "/healthz", "liveness");
  const env = new Map((c.env ?? []).map((e) => [e.name, e]));
  for (const name of ["DATABASE_URL", "MESHIA_AUTH_SECRET", "MESHIA_BRIDGE_SECRET"]) {
    const ref = env.get(name)?.valueFrom?.secretKeyRef;
    if (!ref || ref.optional) out.push(`${name} must come from a (required) Secret: every instance needs the same value`);
  }
  // Behind a trusted proxy "loopback" is whatever X-Forwarded-For says: /metrics needs its token.
  if (env.get("MESHIA_TRUST_PROXY")?.value === "on" && !env.get("MESHIA_METRICS_TOKEN")?.valueFrom?.secretKeyRef)
    out.push("MESHIA_METRICS_TOKEN must come from the Secret behind a proxy");
  // SIGTERM: the preStop sleep, then the drain grace, then up to 10 s to close.
  const preStop = Number(c.lifecycle?.preStop?.exec?.command[1] ?? 0);
  const drain = Number(env.get("MESHIA_DRAIN_GRACE")?.value ?? 30);
  const grace = pod.template.spec.terminationGracePeriodSeconds ?? 30;
  if (grace <= preStop + drain + 10) out.push(`terminationGracePeriodSeconds ${grace} does not cover preStop ${preStop} s + drain ${drain} s + 10 s to close`);
  if (env.get("HOST")?.value !== "0.0.0.0") out.push("HOST must be 0.0.0.0");
  if (env.get("PORT")?.value !== "3000") out.push("PORT must be 3000");
  if (!env.has("MESHIA_LOCAL_TARGET")) out.push("MESHIA_LOCAL_TARGET must be set explicitly (the operator's choice)");
  const ingress = only(docs, "Ingress");
  const host = specOf<{ rules: { host: string }[] }>(ingress).rules[0]?.host;
  if (env.get("MESHIA_PUBLIC_URL")?.value !== `https://${host}`) out.push(`MESHIA_PUBLIC_URL must be the Ingress's https://${host}`);
  // Every variable is one lib/config.ts reads (a misspelt name is otherwise just ignored).
  const known = new Set([...readFileSync(path.join(REPO, "lib/config.ts"), "utf8").matchAll(/^ {2}([A-Z][A-Z0-9_]+): /gm)].map((m) => m[1]));
  for (const name of env.keys()) if (!known.has(name)) out.push(`${name} is not a variable lib/config.ts reads`);
  const service = only(docs, "Service", "meshia-control-plane");
  const svc = specOf<ServiceSpec>(service);
  if (!matches(svc.selector, pod.template.metadata.labels)) out.push("the Service does not select the Deployment's pods");
  if (!svc.ports.some((p) => p.targetPort === http?.name || p.targetPort === 3000)) out.push("the Service does not send to port 3000");
  if (pod.template.spec.automountServiceAccountToken !== false) out.push("the control plane needs no Kubernetes API token");
  return out;
}

function ingressProblems(docs: Manifest[]): string[] {
  const out: string[] = [];
  const ingress = only(docs, "Ingress");
  const a = ingress.metadata.annotations ?? {};
  for (const key of ["proxy-read-timeout", "proxy-send-timeout"]) {
    const v = Number(a[`nginx.ingress.kubernetes.io/${key}`]);
    // ingress-nginx's default is 60 s: an idle terminal (or a hidden tab's throttled pings) must outlive it.
    if (!(v >= 3600)) out.push(`${key} is ${a[`nginx.ingress.kubernetes.io/${key}`] ?? "unset"}, want >= 3600 s for terminal WebSockets`);
  }
  if (a["nginx.ingress.kubernetes.io/proxy-http-version"] !== "1.1") out.push("WebSocket upgrades need HTTP/1.1 to the pods");
  const spec = specOf<{
    tls?: unknown[];
    rules: { http: { paths: { path: string; backend: { service: { name: string; port: { name?: string; number?: number } } } }[] } }[];
  }>(ingress);
  if (!spec.tls?.length) out.push("no TLS");
  const root = spec.rules[0]?.http.paths.find((p) => p.path === "/");
  if (!root) out.push("no rule for / (the app, /api and /ws/terminal)");
  else {
    const svc = docs.find((d) => d.kind === "Service" && d.metadata.name === root.backend.service.name);
    const ports = svc ? specOf<ServiceSpec>(svc).ports : [];
    if (!ports.some((p) => p.name === root.backend.service.port.name || p.port === root.backend.service.port.number))
      out.push("the Ingress's backend is not a port of the control plane's Service");
  }
  return out;
}

const PUBLIC_PORT_ANNOTATION = "meshia.io/public-port";

function computeProblems(docs: Manifest[]): string[] {
  const out: string[] = [];
  const pod = computePod(docs);
  const spec = specOf<PodSpec>(pod);
  const env = new Map((computeContainer(docs).env ?? []).map((e) => [e.name, e]));
  const secretNames = new Set<string>();
  for (const name of ["MESHIA_URL", "MESHIA_TARGET_ID", "MESHIA_TARGET_TOKEN"]) {
    const ref = env.get(name)?.valueFrom?.secretKeyRef;
    if (!ref) out.push(`${name} must come from the target's Secret`);
    // The Secret is made from target.conf with --from-env-file: its keys are the variables' names.
    else if (ref.key !== name) out.push(`${name} reads key ${ref.key}, but the Secret made from target.conf has ${name}`);
    if (ref) secretNames.add(ref.name);
  }
  if (secretNames.size > 1) out.push(`the target's credentials come from several Secrets: ${[...secretNames].join(", ")}`);
  const port = env.get("MESHIA_PUBLIC_PORT");
  if (port?.valueFrom?.fieldRef?.fieldPath !== `metadata.annotations['${PUBLIC_PORT_ANNOTATION}']`)
    out.push(`MESHIA_PUBLIC_PORT must come from the pod's ${PUBLIC_PORT_ANNOTATION} annotation`);
  const publicPort = Number(pod.metadata.annotations?.[PUBLIC_PORT_ANNOTATION]);
  const service = docs.find((d) => d.kind === "Service" && matches(specOf<ServiceSpec>(d).selector, pod.metadata.labels));
  if (!service) out.push("no Service selects the compute pod");
  else {
    const svc = specOf<ServiceSpec>(service);
    if (svc.type !== "NodePort") out.push(`the compute Service is ${svc.type}, the template shows a NodePort`);
    if (!svc.ports.some((p) => p.nodePort === publicPort)) out.push(`the pod's public port ${publicPort} is not the Service's nodePort`);
  }
  if (spec.automountServiceAccountToken !== false) out.push("people get shells in the pod: no service account token");
  if (spec.enableServiceLinks !== false) out.push("no Service links in a pod people get shells in");
  if ((spec.terminationGracePeriodSeconds ?? 30) < 15) out.push("terminationGracePeriodSeconds must leave time for the stop report");
  const sc = computeContainer(docs).securityContext;
  if (!sc?.capabilities?.drop?.includes("ALL")) out.push("drop ALL capabilities and add back what sshd needs");
  const policy = docs.find(
    (d) =>
      d.kind === "NetworkPolicy" && matches(specOf<{ podSelector: { matchLabels: Record<string, string> } }>(d).podSelector.matchLabels, pod.metadata.labels),
  );
  if (!policy) out.push("no NetworkPolicy selects the compute pods");
  else if (!JSON.stringify(policy.spec).includes("169.254.0.0/16")) out.push("the NetworkPolicy lets compute pods reach the cloud metadata service");
  return out;
}

// ---- the tests ----------------------------------------------------------------------------

describe("deploy/kubernetes", () => {
  it("has the control plane, its Ingress and the compute pod template", () => {
    const rel = (f: string) => path.relative(REPO, f);
    expect(files.map((f) => rel(f.file))).toEqual([
      "deploy/kubernetes/compute/network-policy.yaml",
      "deploy/kubernetes/compute/target.yaml",
      "deploy/kubernetes/control-plane.yaml",
      "deploy/kubernetes/ingress.yaml",
    ]);
    expect(all.map((d) => `${d.apiVersion} ${d.kind}`).sort()).toEqual([
      "apps/v1 Deployment",
      "networking.k8s.io/v1 Ingress",
      "networking.k8s.io/v1 NetworkPolicy",
      "policy/v1 PodDisruptionBudget",
      "v1 Pod",
      "v1 Service",
      "v1 Service",
    ]);
  });

  it.each(all.map((d) => [`${d.kind}/${d.metadata.name}`, d] as const))("%s is valid against the Kubernetes schema", (_name, doc) => {
    validateManifest(doc);
  });

  it("schema validation catches wrong types, missing required fields and unknown fields", () => {
    const d = deployment(all);
    const wrongType = copy(d) as Manifest & { spec: { replicas: unknown } };
    wrongType.spec.replicas = "two";
    expect(() => validateModel(wrongType)).toThrow(/replicas must be integer/);

    const noSelector = copy(d) as Manifest & { spec: { selector?: unknown } };
    delete noSelector.spec.selector;
    expect(() => validateModel(noSelector)).toThrow(/selector/);

    const badPort = copy(all.find((x) => x.kind === "Service")!) as Manifest & { spec: { ports: { port: unknown }[] } };
    badPort.spec.ports[0]!.port = { number: 22 };
    expect(() => validateManifest(badPort)).toThrow(/port must be integer/);

    // kubernetes-models alone lets these through; an API server would refuse them.
    const misspelt = copy(d) as Manifest;
    const c = cpPod([misspelt]).template.spec.containers[0]! as Container & Record<string, unknown>;
    c.readinessProb = c.readinessProbe;
    delete c.readinessProbe;
    c.env!.push({ name: "X", valueFrom: { secretKeyRef: { name: "s", key: "k", optinal: true } as never } });
    expect(() => validateModel(misspelt)).not.toThrow();
    expect(unknownFields(misspelt)).toEqual([
      `spec.template.spec.containers[0].env[${c.env!.length - 1}].valueFrom.secretKeyRef.optinal`,
      "spec.template.spec.containers[0].readinessProb",
    ]);
    expect(() => validateManifest(misspelt)).toThrow(/fields the Kubernetes API does not have: .*readinessProb/);

    // Maps (labels, annotations) take any key.
    const labelled = copy(d) as Manifest;
    labelled.metadata.labels = { ...labelled.metadata.labels, "example.com/anything": "x" };
    expect(unknownFields(labelled)).toEqual([]);
  });

  it("secrets are referenced, never inlined", () => {
    expect(secretProblems(all)).toEqual([]);
    const inlined = copy(all);
    cpContainer(inlined).env!.find((e) => e.name === "MESHIA_AUTH_SECRET")!.valueFrom = undefined;
    cpContainer(inlined).env!.find((e) => e.name === "MESHIA_AUTH_SECRET")!.value = "0123456789abcdef0123456789abcdef";
    expect(secretProblems(inlined)).toEqual([
      "control-plane: MESHIA_AUTH_SECRET must come from a secretKeyRef",
      "control-plane: MESHIA_AUTH_SECRET looks like an inlined secret",
    ]);
    const withSecret = [
      ...copy(all),
      { apiVersion: "v1", kind: "Secret", metadata: { name: "meshia-control-plane" }, stringData: { "auth-secret": "x" } } as Manifest,
    ];
    expect(secretProblems(withSecret)).toEqual(["Secret/meshia-control-plane is inlined: create it with kubectl instead"]);
  });

  it("the control plane: 2 replicas, ready on /readyz, alive on /healthz, shared secrets, a configuration lib/config.ts accepts", () => {
    expect(controlPlaneProblems(all)).toEqual([]);

    const broken = copy(all);
    cpPod(broken).replicas = 1;
    cpContainer(broken).readinessProbe = { httpGet: { path: "/healthz", port: "http" } };
    cpContainer(broken).livenessProbe = undefined;
    cpContainer(broken).env!.find((e) => e.name === "MESHIA_BRIDGE_SECRET")!.valueFrom!.secretKeyRef!.optional = true;
    cpContainer(broken).env!.push({ name: "MESHIA_TRUST_PROXIES", value: "on" });
    cpPod(broken).template.spec.terminationGracePeriodSeconds = 30;
    expect(controlPlaneProblems(broken)).toEqual([
      "replicas is 1, want 2",
      "readiness is /healthz, want GET /readyz",
      "liveness is missing, want GET /healthz",
      "MESHIA_BRIDGE_SECRET must come from a (required) Secret: every instance needs the same value",
      "terminationGracePeriodSeconds 30 does not cover preStop 5 s + drain 30 s + 10 s to close",
      "MESHIA_TRUST_PROXIES is not a variable lib/config.ts reads",
    ]);
  });

  it("lib/config.ts accepts the control plane's environment", () => {
    const env: Record<string, string> = {};
    for (const e of cpContainer(all).env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.secretKeyRef) env[e.name] = e.name === "DATABASE_URL" ? "postgres://meshia:pw@postgres:5432/meshia" : "s".repeat(64);
    }
    const cfg = loadConfig(env as NodeJS.ProcessEnv);
    expect(cfg).toMatchObject({
      env: "production",
      host: "0.0.0.0",
      port: 3000,
      publicUrl: "https://meshia.example.com",
      trustProxy: true,
      dataDir: "/var/lib/meshia",
    });
    expect(cfg.localTarget.enabled).toBe(false);
    expect(cfg.bridgeSecret).toBe("s".repeat(64));
    expect(cfg.metricsToken).toBe("s".repeat(64));
    expect(cfg.drainGraceMs).toBe(30_000);
  });

  it("the Ingress keeps terminal WebSockets open and reaches the control plane", () => {
    expect(ingressProblems(all)).toEqual([]);
    const broken = copy(all);
    const a = only(broken, "Ingress").metadata.annotations!;
    delete a["nginx.ingress.kubernetes.io/proxy-read-timeout"];
    a["nginx.ingress.kubernetes.io/proxy-send-timeout"] = "60";
    expect(ingressProblems(broken)).toEqual([
      "proxy-read-timeout is unset, want >= 3600 s for terminal WebSockets",
      "proxy-send-timeout is 60, want >= 3600 s for terminal WebSockets",
    ]);
  });

  it("the compute pod takes its credentials from the target's Secret and its public port per boot", () => {
    expect(computeProblems(all)).toEqual([]);

    const broken = copy(all);
    const env = computeContainer(broken).env!;
    env.find((e) => e.name === "MESHIA_TARGET_TOKEN")!.valueFrom = undefined;
    env.find((e) => e.name === "MESHIA_PUBLIC_PORT")!.valueFrom = undefined;
    env.find((e) => e.name === "MESHIA_PUBLIC_PORT")!.value = "22";
    computePod(broken).metadata.annotations![PUBLIC_PORT_ANNOTATION] = "30999";
    specOf<PodSpec>(computePod(broken)).automountServiceAccountToken = true;
    expect(computeProblems(broken)).toEqual([
      "MESHIA_TARGET_TOKEN must come from the target's Secret",
      `MESHIA_PUBLIC_PORT must come from the pod's ${PUBLIC_PORT_ANNOTATION} annotation`,
      "the pod's public port 30999 is not the Service's nodePort",
      "people get shells in the pod: no service account token",
    ]);
  });
});

describe("deploy/target and deploy/control-plane", () => {
  it("the image's sshd drop-in is the one the control plane hands out", () => {
    expect(readFileSync(path.join(REPO, "deploy/target/sshd_config.d/meshia.conf"), "utf8")).toBe(sshdConfig());
  });

  it.each(["deploy/target/Dockerfile", "deploy/control-plane/Dockerfile"])("%s copies only files that exist", (dockerfile) => {
    const text = readFileSync(path.join(REPO, dockerfile), "utf8");
    const sources = [...text.matchAll(/^COPY\s+(?!--from)(?:--\S+\s+)*(.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) expect(existsSync(path.join(REPO, src)), `${dockerfile}: COPY ${src}`).toBe(true);
    expect(existsSync(path.join(REPO, `${dockerfile}.dockerignore`)), "a .dockerignore beside it").toBe(true);
  });

  it("the entrypoint is an executable POSIX sh script (and shellcheck-clean where shellcheck is installed)", () => {
    const entrypoint = path.join(REPO, "deploy/target/meshia-target-entrypoint");
    expect(statSync(entrypoint).mode & 0o111).toBe(0o111);
    expect(readFileSync(entrypoint, "utf8").split("\n")[0]).toBe("#!/bin/sh");
    execFileSync("sh", ["-n", entrypoint]);
    let shellcheck = true;
    try {
      execFileSync("shellcheck", ["--version"], { stdio: "ignore" });
    } catch {
      shellcheck = false;
    }
    if (shellcheck) execFileSync("shellcheck", ["-s", "sh", entrypoint], { encoding: "utf8" });
  });

  it("the compute image runs the entrypoint under tini with the shipped scripts", () => {
    const text = readFileSync(path.join(REPO, "deploy/target/Dockerfile"), "utf8");
    expect(text).toMatch(/^FROM debian:\S+-slim$/m);
    expect(text).toMatch(/apt-get install .*openssh-server.*curl/);
    expect(text).toContain("scripts/target/meshia-authorized-keys scripts/target/meshia-target-agent /usr/local/libexec/");
    expect(text).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "\/usr\/local\/bin\/meshia-target-entrypoint"\]$/m);
    // Host keys baked into the image would be every container's.
    expect(text).toContain("rm -f /etc/ssh/ssh_host_*_key");
  });
});
