// The embedded target against a real ssh2 client: bytes in and out of real pty shells.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import ssh2, { type ClientChannel } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOrCreateKeyFile } from "@/lib/keys/key-file";
import { LocalTarget } from "./local-target";

const dir = mkdtempSync(path.join(os.tmpdir(), "meshia-local-target-"));
const clientKey = ssh2.utils.generateKeyPairSync("ed25519");
const parsedClientKey = ssh2.utils.parseKey(clientKey.public);
if (parsedClientKey instanceof Error || Array.isArray(parsedClientKey)) throw new Error("bad test key");
const clientBlob = parsedClientKey.getPublicSSH();

let target: LocalTarget;
const clients: ssh2.Client[] = [];

beforeAll(async () => {
  target = new LocalTarget({
    listenHost: "127.0.0.1",
    ports: { from: 23880, to: 23899 }, // the bench engineer's range; the target skips ports in use
    hostKey: loadOrCreateKeyFile(path.join(dir, "host_ed25519"), "test-host"),
    volume: path.join(dir, "volume"),
    allowedKeys: async () => [{ blob: clientBlob, options: null }],
    log: pino({ level: "silent" }),
  });
  await target.start();
});

afterAll(async () => {
  for (const c of clients) c.end();
  await target.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function shell(): Promise<ClientChannel> {
  const client = new ssh2.Client();
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once("ready", () => resolve());
    client.once("error", reject);
    client.connect({ host: "127.0.0.1", port: target.port, username: "mesh", privateKey: clientKey.private, hostVerifier: () => true });
  });
  return new Promise((resolve, reject) =>
    client.shell({ term: "xterm-256color", cols: 120, rows: 40, height: 0, width: 0 }, (err, ch) => (err ? reject(err) : resolve(ch))),
  );
}

/** Runs a command line and collects output until `marker` (printed as tag$((1+1))) shows up. */
function runUntil(ch: ClientChannel, command: string, onChunk?: (c: Buffer) => void): Promise<Buffer> {
  const tag = `T${Math.random().toString(36).slice(2, 8)}`;
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out")), 30_000);
    const onData = (c: Buffer) => {
      chunks.push(c);
      onChunk?.(c);
      const all = Buffer.concat(chunks);
      if (all.includes(`${tag}2`)) {
        clearTimeout(timer);
        ch.off("data", onData);
        resolve(all);
      }
    };
    ch.on("data", onData);
    ch.write(`${command}; echo ${tag}$((1+1))\n`);
  });
}

describe("embedded target", () => {
  it("passes input bytes to the pty unchanged (UTF-8 included)", async () => {
    const ch = await shell();
    await runUntil(ch, "stty -echo");
    const out = runUntil(ch, "head -c 6 | od -An -tx1");
    await new Promise((r) => setTimeout(r, 200));
    ch.write(Buffer.from("é€\n")); // c3 a9, e2 82 ac, 0a
    expect((await out).toString()).toContain("c3 a9 e2 82 ac 0a");
  });
});
