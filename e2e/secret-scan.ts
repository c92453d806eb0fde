// After every spec (the setup project's teardown, so it runs even when specs failed):
// no private key material anywhere the server keeps things — the database (the
// embedded PGlite data directory, scanned as raw bytes), the data directory's other
// files, the server log — nor in ANY response the tests received, but the key
// downloads themselves (e2e/support/record.ts recorded them all).
import { readFileSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { expect, test } from "./support/fixtures";
import { e2e } from "./support/env";
import { flushRecordings, type RecordedResponse } from "./support/record";

/** Window length: any run of this many bytes of a key's private part counts as a leak. */
const L = 24;
const PRIVATE_MARKER = Buffer.from("PRIVATE KEY", "latin1");

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Offset where an RSA PKCS#1 key's private part starts: after version, n and e (public) comes d. */
function privateStart(der: Buffer): number {
  const header = (at: number): { body: number; end: number } => {
    const first = der[at + 1]!;
    if (first < 0x80) return { body: at + 2, end: at + 2 + first };
    const n = first & 0x7f;
    let len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[at + 2 + i]!;
    return { body: at + 2 + n, end: at + 2 + n + len };
  };
  expect(der[0], "PKCS#1 starts with a SEQUENCE").toBe(0x30);
  let at = header(0).body;
  for (let i = 0; i < 3; i++) {
    expect(der[at], "version, n and e are INTEGERs").toBe(0x02);
    at = header(at).end;
  }
  return at;
}

interface Marker {
  text: string;
  what: string;
}

/**
 * Every L-byte window of a key's private part as it could be kept: raw DER bytes,
 * base64 at each of the three alignments (the PEM's own, and any re-encoding), and hex.
 */
function markersOf(pem: string, n: number): Marker[] {
  const body = pem.split("\n").filter((l) => l && !l.startsWith("-----"));
  const der = Buffer.from(body.join(""), "base64");
  const start = privateStart(der);
  const out: Marker[] = [];
  const windows = (s: string, from: number, to: number, what: string) => {
    for (let i = from; i + L <= to; i++) out.push({ text: s.slice(i, i + L), what: `key #${n} (${what})` });
  };
  windows(der.toString("latin1"), start, der.length, "DER");
  for (const k of [0, 1, 2]) {
    const b64 = der.subarray(k).toString("base64");
    // Characters that encode only bytes at or after `start`, none of the padding.
    windows(b64, Math.ceil((start - k) / 3) * 4, b64.length - 4, `base64+${k}`);
  }
  windows(der.subarray(start).toString("hex"), 0, (der.length - start) * 2, "hex");
  return out;
}

/** Rabin–Karp over L-byte windows: every file is read once, whatever the number of markers. */
class Scanner {
  private readonly byHash = new Map<number, Marker[]>();
  private readonly filter = new Uint8Array(1 << 24);
  private readonly pow: number;

  constructor(markers: Marker[]) {
    let pow = 1;
    for (let i = 0; i < L - 1; i++) pow = Math.imul(pow, 257);
    this.pow = pow;
    for (const m of markers) {
      const h = Scanner.hash(Buffer.from(m.text, "latin1"), 0);
      this.filter[h >>> 8] = 1;
      const list = this.byHash.get(h);
      if (list) list.push(m);
      else this.byHash.set(h, [m]);
    }
  }

  static hash(buf: Buffer, at: number): number {
    let h = 0;
    for (let i = 0; i < L; i++) h = (Math.imul(h, 257) + buf[at + i]!) | 0;
    return h;
  }

  /** The markers found in `buf` (each once). */
  find(buf: Buffer): Set<string> {
    const found = new Set<string>();
    if (buf.length < L) return found;
    let h = Scanner.hash(buf, 0);
    for (let i = 0; ; i++) {
      if (this.filter[h >>> 8]) {
        for (const m of this.byHash.get(h) ?? []) {
          if (buf.toString("latin1", i, i + L) === m.text) found.add(m.what);
        }
      }
      if (i + L >= buf.length) break;
      h = (Math.imul((h - Math.imul(buf[i]!, this.pow)) | 0, 257) + buf[i + L]!) | 0;
    }
    return found;
  }
}

function recordedResponses(): RecordedResponse[] {
  return readdirSync(e2e.responsesDir)
    .filter((f) => f.startsWith("index-") && f.endsWith(".jsonl"))
    .flatMap((f) =>
      readFileSync(path.join(e2e.responsesDir, f), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as RecordedResponse),
    );
}

test("no private key material in the database, the data directory, the server log or any response but the key downloads", async ({ request }) => {
  test.setTimeout(180_000);
  const keysDir = path.join(e2e.responsesDir, "keys");
  try {
    let downloads = recordedResponses().filter((r) => r.kind === "key-download");
    if (downloads.length === 0) {
      // Run alone (one spec, none of which generated a key): make one, so there is
      // always something to look for. A workspace of its own leaves the others as they are.
      const ws = await request.post("/api/workspaces", { data: { name: "secret-scan" } });
      expect(ws.status()).toBe(201);
      const res = await request.post(`/api/workspaces/${((await ws.json()) as { id: string }).id}/key`);
      expect(res.status()).toBe(200);
      await flushRecordings();
      downloads = recordedResponses().filter((r) => r.kind === "key-download");
    }
    const pemFiles = walk(keysDir);
    expect(pemFiles.length, "every key download was kept for the scan").toBe(new Set(downloads.map((d) => d.body)).size);
    const pems = pemFiles.map((f) => readFileSync(f, "latin1"));
    const markers = pems.flatMap((pem, i) => markersOf(pem, i));
    const scanner = new Scanner(markers);

    // The scanner finds each key in its own download (it would find a leak).
    pemFiles.forEach((f, i) => {
      expect(
        [...scanner.find(readFileSync(f))].some((w) => w.startsWith(`key #${i} (base64+0)`)),
        `key #${i} not found in its own file`,
      ).toBe(true);
    });

    const all = recordedResponses();
    const responseFiles = [...new Set(all.filter((r) => r.kind === "response" && r.body).map((r) => path.join(e2e.responsesDir, "bodies", r.body!)))];
    const indexFiles = readdirSync(e2e.responsesDir)
      .filter((f) => f.startsWith("index-"))
      .map((f) => path.join(e2e.responsesDir, f));
    const dataFiles = walk(e2e.dataDir);
    const dataKeys = path.join(e2e.dataDir, "keys") + path.sep;
    const files = [...dataFiles, e2e.serverLog, ...indexFiles, ...responseFiles];
    expect(dataFiles.length).toBeGreaterThan(10);
    expect(responseFiles.length, "responses were recorded").toBeGreaterThan(10);

    const found: string[] = [];
    let bytes = 0;
    for (const file of files) {
      const buf = readFileSync(file);
      bytes += buf.length;
      // The control plane's own ed25519 keys (host, bridge) and auth secret live in keys/, by design.
      if (!file.startsWith(dataKeys) && buf.includes(PRIVATE_MARKER)) found.push(`"PRIVATE KEY" in ${file}`);
      for (const what of scanner.find(buf)) found.push(`${what} in ${file}`);
    }
    const unreadable = all.filter((r) => r.source === "browser" && r.note?.startsWith("body unavailable")).length;
    const refetched = all.filter((r) => r.note?.startsWith("re-fetched")).length;
    test.info().annotations.push({
      type: "secret-scan",
      description: `${pems.length} keys (${markers.length} windows of ${L} bytes), ${files.length} files (${(bytes / 1048576).toFixed(1)} MiB): ${dataFiles.length} in the data directory, the server log, ${all.length} responses (${responseFiles.length} distinct bodies; the browser kept no body for ${unreadable}, of which ${refetched} GETs were fetched again)`,
    });
    expect(found).toEqual([]);
  } finally {
    // The only private keys the run kept: the downloads, for this scan.
    rmSync(keysDir, { recursive: true, force: true });
  }
});

test("API tokens and target tokens are kept hashed: none in the clear in the database, the data directory or the server log", async ({ request }) => {
  // Every token the tests were handed (in the responses that created them).
  const handedOut = () => {
    const tokens = new Set<string>();
    for (const r of recordedResponses()) {
      if (r.kind !== "response" || !r.body) continue;
      const text = readFileSync(path.join(e2e.responsesDir, "bodies", r.body), "latin1");
      for (const m of text.matchAll(/\b(?:mshk|mtt)_[A-Za-z0-9_-]{32,}/g)) tokens.add(m[0]);
    }
    return tokens;
  };
  let tokens = handedOut();
  if (tokens.size === 0) {
    // Run after specs that made no token: make one (in a workspace of its own), so there is always something to look for.
    const ws = await request.post("/api/workspaces", { data: { name: "token-scan" } });
    expect(ws.status()).toBe(201);
    const res = await request.post(`/api/workspaces/${((await ws.json()) as { id: string }).id}/tokens`, { data: { name: "scan" } });
    expect(res.status()).toBe(201);
    await flushRecordings();
    tokens = handedOut();
  }
  expect(tokens.size, "tokens were handed out during the run").toBeGreaterThan(0);
  // Windows of the random part only: the prefix and the few characters shown as `start` are public.
  const markers = [...tokens].flatMap((t, n) => {
    const secret = t.slice(t.indexOf("_") + 1 + 6);
    return Array.from({ length: Math.max(0, secret.length - L + 1) }, (_, i) => ({ text: secret.slice(i, i + L), what: `token #${n} (${t.slice(0, 8)}…)` }));
  });
  const scanner = new Scanner(markers);
  const found: string[] = [];
  for (const file of [...walk(e2e.dataDir), e2e.serverLog]) {
    for (const what of scanner.find(readFileSync(file))) found.push(`${what} in ${file}`);
  }
  test.info().annotations.push({ type: "secret-scan", description: `${tokens.size} tokens (API and target) looked for` });
  expect(found).toEqual([]);
});
