// The embedded target against the OpenSSH client's everyday uses: scp (sftp mode),
// sftp, rsync, git over ssh, `ssh -t`, -L, -R, -D, a VS Code Remote-SSH-like
// bootstrap, parallel logins; and the sandbox seen from inside a real login.
import { execFile, spawn } from "node:child_process";
import { randomBytes, createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import ssh2 from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOrCreateKeyFile } from "@/lib/keys/key-file";
import { generateEd25519 } from "@/lib/keys/openssh-key";
import { LIMITS } from "./sandbox";
import { LocalTarget } from "./server";
import { SFTP_MISSING } from "./sftp";
import { sandboxForTests } from "./testing";

const dir = mkdtempSync(path.join(os.tmpdir(), "meshia-openssh-client-"));
const key = generateEd25519("client");
const keyFile = path.join(dir, "client_ed25519");
writeFileSync(keyFile, key.privateKey, { mode: 0o600 });
const local = path.join(dir, "here");
mkdirSync(local);

let target: LocalTarget;
let noSftp: LocalTarget;
let volume: string;
let dataDir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const SSH_OPTS = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-i", keyFile];
const sshCmd = (port: number) => `ssh ${SSH_OPTS.join(" ")} -p ${port}`;

function run(cmd: string, args: string[], opts: { input?: string | Buffer; timeout?: number; cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      {
        timeout: opts.timeout ?? 30_000,
        maxBuffer: 64 * 1024 * 1024,
        cwd: opts.cwd ?? local,
        env: { ...process.env, ...opts.env } as NodeJS.ProcessEnv,
        encoding: "latin1",
      },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 255) : 0, stdout, stderr }),
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

function ssh(args: string[], opts: { input?: string | Buffer; timeout?: number; port?: number } = {}): Promise<Run> {
  return run("ssh", [...SSH_OPTS, "-p", String(opts.port ?? target.port), "mesh@127.0.0.1", ...args], opts);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** Sends `data` to host:port and reads until `expected` bytes came back (or the peer closed). */
function roundTrip(port: number, data: Buffer, host = "127.0.0.1"): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => s.end(data));
    const chunks: Buffer[] = [];
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("close", () => resolve(Buffer.concat(chunks)));
    s.on("error", reject);
  });
}

async function eventually<T>(fn: () => Promise<T>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

let echo: net.Server;
let echoPort = 0;

beforeAll(async () => {
  const sb = await sandboxForTests(dir);
  volume = sb.volume;
  dataDir = sb.dataDir;
  // What a shell must not reach: the control plane's secrets, keys and database files.
  mkdirSync(path.join(dataDir, "keys"), { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dataDir, "keys", "auth_secret"), "control-plane-secret\n", { mode: 0o600 });
  mkdirSync(path.join(dataDir, "pgdata"), { mode: 0o700 });
  writeFileSync(path.join(dataDir, "pgdata", "PG_VERSION"), "17\n", { mode: 0o600 });
  const common = {
    listenHost: "127.0.0.1",
    ports: { from: 26000, to: 26499 },
    hostKey: loadOrCreateKeyFile(path.join(dataDir, "keys", "host_ed25519"), "test-host"),
    volume,
    sandbox: sb.sandbox,
    allowedKeys: async () => [{ blob: key.blob, options: null }],
    log: pino({ level: "silent" }),
  };
  target = new LocalTarget(common);
  noSftp = new LocalTarget({ ...common, sftpServer: null });
  await target.start();
  await noSftp.start();
  echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  echoPort = (echo.address() as net.AddressInfo).port;
});

afterAll(async () => {
  await target?.stop();
  await noSftp?.stop();
  echo?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the sandbox, from a real login", () => {
  it("is the user mesh (as root) with no groups, no capabilities and limits", async () => {
    const r = await ssh(["id -un; grep -E '^(Groups|CapEff|NoNewPrivs):' /proc/self/status; ulimit -u; ulimit -n; echo $HOME; stat -c %a $HOME"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    if (process.getuid?.() === 0) {
      expect(lines[0]).toBe("mesh");
      expect(lines[1]).toMatch(/^Groups:\s*$/);
      expect(lines[2]).toMatch(/^CapEff:\s*0+$/);
      expect(lines[3]).toMatch(/^NoNewPrivs:\s*1$/);
    }
    expect(lines.slice(-4)).toEqual([String(LIMITS.nproc), String(LIMITS.nofile), volume, "700"]);
  });

  it("reaches nothing of the control plane: data directory, secrets, keys, database files, the server's /proc, signals", async () => {
    const pid = process.pid;
    const probes: [string, string][] = [
      ["data dir listing", `ls ${dataDir}`],
      ["auth secret", `cat ${dataDir}/keys/auth_secret`],
      ["host key", `cat ${dataDir}/keys/host_ed25519`],
      ["database files", `cat ${dataDir}/pgdata/PG_VERSION`],
      ["server environ", `cat /proc/${pid}/environ`],
      ["server memory", `head -c 16 /proc/${pid}/mem`],
      ["server fds", `ls /proc/${pid}/fd`],
      ["signal to the server", `kill -0 ${pid}`],
    ];
    const script = probes.map(([name, cmd]) => `if ${cmd} >/dev/null 2>&1; then echo "REACHED ${name}"; else echo "refused ${name}"; fi`).join("\n");
    const r = await ssh(["bash -s"], { input: script });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain("REACHED");
    expect(r.stdout.trim().split("\n")).toHaveLength(probes.length);
    expect(r.stdout).not.toContain("control-plane-secret");
  });

  it("gives a login shell that reads its own .bashrc in the volume without errors", async () => {
    writeFileSync(path.join(volume, ".bashrc"), "export FROM_BASHRC=yes\n");
    const r = await ssh(["-tt", "bash -ic 'echo rc=$FROM_BASHRC'"]);
    expect(r.stdout).toContain("rc=yes");
    expect(r.stdout + r.stderr).not.toContain("Permission denied");
  });
});

describe("files: sftp subsystem", () => {
  it("scp in its default (sftp) mode, both ways", async () => {
    const data = randomBytes(300_000);
    writeFileSync(path.join(local, "up.bin"), data);
    const up = await run("scp", [...SSH_OPTS, "-P", String(target.port), "up.bin", "mesh@127.0.0.1:up.bin"]);
    expect(up.code, up.stderr).toBe(0);
    expect(readFileSync(path.join(volume, "up.bin")).equals(data)).toBe(true);
    const down = await run("scp", [...SSH_OPTS, "-P", String(target.port), "mesh@127.0.0.1:up.bin", "down.bin"]);
    expect(down.code, down.stderr).toBe(0);
    expect(readFileSync(path.join(local, "down.bin")).equals(data)).toBe(true);
  });

  it("sftp -b", async () => {
    writeFileSync(path.join(local, "batch.txt"), "hello sftp\n");
    writeFileSync(path.join(local, "batch"), "mkdir sub\nput batch.txt sub/batch.txt\nls sub\nget sub/batch.txt back.txt\n");
    const r = await run("sftp", [...SSH_OPTS, "-P", String(target.port), "-b", "batch", "mesh@127.0.0.1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(local, "back.txt"), "utf8")).toBe("hello sftp\n");
    expect(readFileSync(path.join(volume, "sub", "batch.txt"), "utf8")).toBe("hello sftp\n");
  });

  it("rsync -e ssh", async () => {
    mkdirSync(path.join(local, "tree", "deep"), { recursive: true });
    writeFileSync(path.join(local, "tree", "a.txt"), "a\n");
    writeFileSync(path.join(local, "tree", "deep", "b.bin"), randomBytes(100_000));
    const r = await run("rsync", ["-a", "-e", sshCmd(target.port), "tree/", "mesh@127.0.0.1:tree/"]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(volume, "tree", "deep", "b.bin")).equals(readFileSync(path.join(local, "tree", "deep", "b.bin")))).toBe(true);
  });

  it("git clone and push over ssh", async () => {
    const init = await ssh(["git init -q --bare repo.git"]);
    expect(init.code, init.stderr).toBe(0);
    const env = {
      GIT_SSH_COMMAND: sshCmd(target.port),
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.com",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.com",
    };
    const url = "ssh://mesh@127.0.0.1/~/repo.git";
    expect((await run("git", ["clone", "-q", url, "work"], { env })).code).toBe(0);
    writeFileSync(path.join(local, "work", "README"), "hi\n");
    const cwd = path.join(local, "work");
    await run("git", ["add", "README"], { cwd, env });
    await run("git", ["commit", "-qm", "first"], { cwd, env });
    const push = await run("git", ["push", "-q", "origin", "HEAD"], { cwd, env });
    expect(push.code, push.stderr).toBe(0);
    const again = await run("git", ["clone", "-q", url, "again"], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(path.join(local, "again", "README"), "utf8")).toBe("hi\n");
  });

  it("says on the channel when sftp-server is not installed", async () => {
    const r = await run("sftp", [...SSH_OPTS, "-P", String(noSftp.port), "-b", "-", "mesh@127.0.0.1"], { input: "ls\n" });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(SFTP_MISSING.trim());
  });
});

describe("ssh -t", () => {
  it("delivers all of a command's output before the exit, 200 runs out of 200", async () => {
    const expected = Array.from({ length: 2000 }, (_, i) => `${i + 1}\r\n`).join("");
    let complete = 0;
    const failures: string[] = [];
    for (let batch = 0; batch < 20; batch++) {
      // -tt: ssh -t from a terminal; here stdin is a pipe, and a single -t would not ask for a pty.
      const runs = await Promise.all(Array.from({ length: 10 }, () => ssh(["-tt", "seq 1 2000"], { timeout: 60_000 })));
      for (const r of runs) {
        if (r.code === 0 && r.stdout === expected) complete++;
        else failures.push(`code ${r.code}, ${r.stdout.length} bytes`);
      }
    }
    expect(failures.slice(0, 5)).toEqual([]);
    expect(complete).toBe(200);
  }, 300_000);

  it("reports the exit status and the exit signal", async () => {
    expect((await ssh(["-tt", "exit 42"])).code).toBe(42);
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once("ready", () => resolve()).once("error", reject);
      client.connect({ host: "127.0.0.1", port: target.port, username: "mesh", privateKey: key.privateKey, hostVerifier: () => true });
    });
    try {
      for (const pty of [true, false]) {
        const exit = await new Promise<unknown[]>((resolve, reject) =>
          client.exec("kill -TERM $$", { pty }, (err, ch) => {
            if (err) return reject(err);
            ch.on("exit", (...args: unknown[]) => resolve(args));
            ch.resume();
          }),
        );
        // ssh2 names it SIGTERM on its side; on the wire it is "TERM", as OpenSSH sends it.
        expect(exit.slice(0, 2)).toEqual([null, "SIGTERM"]);
      }
    } finally {
      client.end();
    }
  });
});

describe("forwarding", () => {
  it("-L to the target's loopback", async () => {
    const port = await freePort();
    const child = spawn("ssh", [
      ...SSH_OPTS,
      "-N",
      "-o",
      "ExitOnForwardFailure=yes",
      "-p",
      String(target.port),
      "-L",
      `${port}:127.0.0.1:${echoPort}`,
      "mesh@127.0.0.1",
    ]);
    try {
      expect((await eventually(() => roundTrip(port, Buffer.from("ping")))).toString()).toBe("ping");
    } finally {
      child.kill();
    }
  });

  it("-R listens on the target's loopback only (GatewayPorts no), and the listener goes with the connection", async () => {
    const port = await freePort();
    // Asked for every address: bound to loopback, as sshd does with GatewayPorts no.
    const child = spawn("ssh", [
      ...SSH_OPTS,
      "-N",
      "-o",
      "ExitOnForwardFailure=yes",
      "-p",
      String(target.port),
      "-R",
      `0.0.0.0:${port}:127.0.0.1:${echoPort}`,
      "mesh@127.0.0.1",
    ]);
    try {
      expect((await eventually(() => roundTrip(port, Buffer.from("remote")))).toString()).toBe("remote");
      const external = Object.values(os.networkInterfaces())
        .flat()
        .find((a) => a && a.family === "IPv4" && !a.internal);
      if (external) await expect(roundTrip(port, Buffer.from("x"), external.address)).rejects.toThrow();
    } finally {
      child.kill();
    }
    await eventually(async () => {
      await expect(roundTrip(port, Buffer.from("gone"))).rejects.toThrow();
    });
  });

  it("-R refuses privileged ports, and cancel-tcpip-forward closes the listener", async () => {
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once("ready", () => resolve()).once("error", reject);
      client.connect({ host: "127.0.0.1", port: target.port, username: "mesh", privateKey: key.privateKey, hostVerifier: () => true });
    });
    try {
      await expect(new Promise((resolve, reject) => client.forwardIn("127.0.0.1", 80, (err, p) => (err ? reject(err) : resolve(p))))).rejects.toThrow();
      const bound = await new Promise<number>((resolve, reject) => client.forwardIn("127.0.0.1", 0, (err, p) => (err ? reject(err) : resolve(p))));
      expect(bound).toBeGreaterThan(1023);
      client.on("tcp connection", (_info, accept) => {
        const ch = accept();
        ch.pipe(ch);
      });
      expect((await roundTrip(bound, Buffer.from("via ssh2"))).toString()).toBe("via ssh2");
      await new Promise<void>((resolve, reject) => client.unforwardIn("127.0.0.1", 0, (err) => (err ? reject(err) : resolve())));
      await expect(roundTrip(bound, Buffer.from("x"))).rejects.toThrow();
    } finally {
      client.end();
    }
  });

  it("-D (SOCKS5) to the target's loopback", async () => {
    const port = await freePort();
    const child = spawn("ssh", [...SSH_OPTS, "-N", "-o", "ExitOnForwardFailure=yes", "-p", String(target.port), "-D", `127.0.0.1:${port}`, "mesh@127.0.0.1"]);
    try {
      const got = await eventually(
        () =>
          new Promise<string>((resolve, reject) => {
            const s = net.connect(port, "127.0.0.1");
            let stage = 0;
            let buf = Buffer.alloc(0);
            s.on("connect", () => s.write(Buffer.from([5, 1, 0])));
            s.on("data", (c: Buffer) => {
              buf = Buffer.concat([buf, c]);
              if (stage === 0 && buf.length >= 2) {
                stage = 1;
                buf = buf.subarray(2);
                const req = Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, echoPort >> 8, echoPort & 255]);
                s.write(req);
              }
              if (stage === 1 && buf.length >= 10) {
                if (buf[1] !== 0) return reject(new Error(`socks reply ${buf[1]}`));
                stage = 2;
                buf = buf.subarray(10);
                s.write("socks");
              }
              if (stage === 2 && buf.length >= 5) {
                resolve(buf.toString());
                s.destroy();
              }
            });
            s.on("error", reject);
            s.on("close", () => reject(new Error("closed")));
          }),
      );
      expect(got).toBe("socks");
    } finally {
      child.kill();
    }
  });
});

describe("VS Code Remote-SSH's pattern and parallel logins", () => {
  it("bash with a script on stdin opens a port, -L reaches it, megabytes move over stdin and stdout", async () => {
    // As VS Code does: `ssh host bash`, a script on stdin that starts a server and
    // prints its port; the client reads that, then keeps talking over stdin/stdout.
    const script = [
      `node -e 'require("net").createServer(s=>s.pipe(s)).listen(0,"127.0.0.1",function(){console.log("listeningOn=="+this.address().port+"==")})' > server.log 2>&1 &`,
      "for i in $(seq 1 100); do grep -q listeningOn server.log && break; sleep 0.1; done",
      "cat server.log",
      "head -c 4000000 /dev/zero | tr '\\0' 'x'",
      // One line: bash reads a script on stdin a line at a time, so what follows is head's.
      "echo; head -c 8000000 | sha256sum; exit 0",
      "",
    ].join("\n");
    const payload = randomBytes(8_000_000);
    const child = spawn("ssh", [...SSH_OPTS, "-p", String(target.port), "mesh@127.0.0.1", "bash"]);
    let out = "";
    let err = "";
    child.stdout.setEncoding("latin1").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("latin1").on("data", (d: string) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    child.stdin.write(script);
    const port = await eventually(async () => {
      const m = /listeningOn==(\d+)==/.exec(out);
      if (!m) throw new Error("no port yet");
      return Number(m[1]);
    }, 20_000);
    child.stdin.end(payload);
    expect(await exited, err).toBe(0);
    expect(out).toContain(createHash("sha256").update(payload).digest("hex"));
    expect(out.split("x").length - 1).toBe(4_000_000);
    const localPort = await freePort();
    const fwd = spawn("ssh", [
      ...SSH_OPTS,
      "-N",
      "-o",
      "ExitOnForwardFailure=yes",
      "-p",
      String(target.port),
      "-L",
      `${localPort}:127.0.0.1:${port}`,
      "mesh@127.0.0.1",
    ]);
    try {
      const data = randomBytes(2_000_000);
      const back = await eventually(() => roundTrip(localPort, data));
      expect(back.equals(data)).toBe(true);
    } finally {
      fwd.kill();
      await ssh([`pkill -u "$(id -u)" -f listeningOn || true`]);
    }
  }, 180_000);

  it("20 logins at once, each running a command", async () => {
    const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => ssh([`echo login-${i}`], { timeout: 60_000 })));
    expect(runs.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 20 }, (_, i) => `login-${i}`));
  }, 90_000);
});
