// Kubernetes manifests checked against the API's schemas without a cluster:
// kubernetes-models' validators (types, required fields, enums, formats), plus the
// fields the API does not know, which those validators let through (a misspelt
// `readinessProb` passes them) while an API server refuses them (kubectl's default
// --validate=strict). The known fields come from the same package's type
// declarations, read with the TypeScript compiler.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { Pod } from "kubernetes-models/v1/Pod";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import ts from "typescript";
import { parseAllDocuments } from "yaml";

interface Validatable {
  validate(): void;
}

/** The kinds the manifests use: apiVersion/kind → model class, and the module and interface declaring its fields. */
const KINDS: Record<string, { model: new (data: never) => Validatable; module: string; iface: string }> = {
  "apps/v1/Deployment": { model: Deployment, module: "kubernetes-models/apps/v1/Deployment", iface: "IDeployment" },
  "v1/Service": { model: Service, module: "kubernetes-models/v1/Service", iface: "IService" },
  "v1/Pod": { model: Pod, module: "kubernetes-models/v1/Pod", iface: "IPod" },
  "v1/Secret": { model: Secret, module: "kubernetes-models/v1/Secret", iface: "ISecret" },
  "networking.k8s.io/v1/Ingress": { model: Ingress, module: "kubernetes-models/networking.k8s.io/v1/Ingress", iface: "IIngress" },
  "networking.k8s.io/v1/NetworkPolicy": { model: NetworkPolicy, module: "kubernetes-models/networking.k8s.io/v1/NetworkPolicy", iface: "INetworkPolicy" },
  "policy/v1/PodDisruptionBudget": { model: PodDisruptionBudget, module: "kubernetes-models/policy/v1/PodDisruptionBudget", iface: "IPodDisruptionBudget" },
};

/** A Kubernetes object as parsed from YAML. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // Walked by the checks with their own narrowing; the schema check is what vouches for shapes.
  [field: string]: unknown;
}

export interface ManifestFile {
  file: string;
  docs: Manifest[];
}

/** Every YAML document in every *.yaml / *.yml under `dir`; a YAML error throws, naming the file. */
export function loadManifests(dir: string): ManifestFile[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(entry.name)) files.push(p);
    }
  };
  walk(dir);
  return files.sort().map((file) => {
    const docs = parseAllDocuments(readFileSync(file, "utf8"), { prettyErrors: true });
    if (!Array.isArray(docs)) throw new Error(`${file}: not a YAML stream`);
    return {
      file,
      docs: docs.map((doc, i) => {
        const problems = [...doc.errors, ...doc.warnings];
        if (problems.length) throw new Error(`${file}, document ${i + 1}: ${problems.map((e) => e.message).join("; ")}`);
        const value: unknown = doc.toJS();
        if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error(`${file}, document ${i + 1}: not an object`);
        return value as Manifest;
      }),
    };
  });
}

function kindOf(doc: { apiVersion?: unknown; kind?: unknown }): (typeof KINDS)[string] {
  const key = `${String(doc.apiVersion)}/${String(doc.kind)}`;
  const kind = KINDS[key];
  if (!kind) throw new Error(`no schema for ${key} here: add it to KINDS in deploy/kubernetes/schema.ts`);
  return kind;
}

/** kubernetes-models' validation of one object; throws with the schema's complaint. */
export function validateModel(doc: Manifest): void {
  const { model } = kindOf(doc);
  // The model takes the object as it came; validate() is what checks it.
  new model(structuredClone(doc) as never).validate();
}

let checker: { program: ts.Program; types: Map<string, ts.Type> } | null = null;

/** One TypeScript program over the declarations of every kind in KINDS (built once, ~1 s). */
function typeChecker(): { tc: ts.TypeChecker; types: Map<string, ts.Type> } {
  if (!checker) {
    const root = path.join(import.meta.dirname, "__kinds__.ts");
    const entries = Object.entries(KINDS);
    const source = entries.map(([, k], i) => `import type { ${k.iface} as K${i} } from "${k.module}";\nexport type T${i} = K${i};`).join("\n");
    const options: ts.CompilerOptions = {
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
    };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, lang, ...rest) => (path.resolve(name) === root ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest));
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => path.resolve(name) === root || fileExists(name);
    const program = ts.createProgram([root], options, host);
    const diagnostics = ts.getPreEmitDiagnostics(program);
    if (diagnostics.length) throw new Error(ts.formatDiagnostics(diagnostics, host));
    const tc = program.getTypeChecker();
    const file = program.getSourceFile(root)!;
    const types = new Map<string, ts.Type>();
    for (const stmt of file.statements) {
      if (ts.isTypeAliasDeclaration(stmt)) {
        const [key] = entries[Number(stmt.name.text.slice(1))]!;
        types.set(key, tc.getTypeAtLocation(stmt.name));
      }
    }
    checker = { program, types };
  }
  return { tc: checker.program.getTypeChecker(), types: checker.types };
}

/** Paths (like `spec.template.spec.containers[0].readinessProb`) of fields the API does not define. */
export function unknownFields(doc: Manifest): string[] {
  kindOf(doc);
  const { tc, types } = typeChecker();
  const out: string[] = [];
  const visit = (value: unknown, type: ts.Type, at: string) => {
    if (value === null || typeof value !== "object") return;
    let t = tc.getNonNullableType(type);
    if (t.isUnion()) {
      // IntOrString and the like: only an object member says anything about fields.
      const objects = t.types.filter((m) => m.flags & ts.TypeFlags.Object);
      if (objects.length !== 1) return;
      t = objects[0]!;
    }
    if (Array.isArray(value)) {
      if (!tc.isArrayType(t)) {
        out.push(`${at} (a list where the API has none)`);
        return;
      }
      const element = tc.getTypeArguments(t as ts.TypeReference)[0];
      if (element) value.forEach((v, i) => visit(v, element, `${at}[${i}]`));
      return;
    }
    const index = tc.getIndexInfoOfType(t, ts.IndexKind.String);
    for (const [key, v] of Object.entries(value)) {
      const here = at ? `${at}.${key}` : key;
      const prop = tc.getPropertyOfType(t, key);
      if (prop) visit(v, tc.getTypeOfSymbol(prop), here);
      else if (index) visit(v, index.type, here);
      else out.push(here);
    }
  };
  visit(doc, types.get(`${doc.apiVersion}/${doc.kind}`)!, "");
  return out;
}

/** Both checks; throws naming the object and every problem. */
export function validateManifest(doc: Manifest): void {
  const where = `${doc.kind}/${doc.metadata?.name ?? "?"}`;
  try {
    validateModel(doc);
  } catch (err) {
    throw new Error(`${where}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const unknown = unknownFields(doc);
  if (unknown.length) throw new Error(`${where}: fields the Kubernetes API does not have: ${unknown.join(", ")}`);
}
