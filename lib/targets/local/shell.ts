// Programs on an SSH session channel: a pty shell or command (node-pty), or plain
// pipes (exec without a pty, and subsystems such as sftp-server), always launched
// through the sandbox. Pty output is coalesced into full SSH packets (pty-output.ts)
// and drained completely before the exit status is reported (pty-drain.ts); pty input
// is bounded and waits for a program that does not read without spinning (pty-input.ts).
import { spawn } from "node:child_process";
import { chownSync, chmodSync, readFileSync } from "node:fs";
import pty from "node-pty";
import type { ServerChannel } from "ssh2";
import { ptsNameOf } from "./node-pty-internals";
import { hangUpGroup, reportExit, sendSignal, signalName } from "./program-control";
import { PtyDrain } from "./pty-drain";
import { ptyInput } from "./pty-input";
import { PtyOutput } from "./pty-output";
import type { Sandbox } from "./sandbox";

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** The `tty` group, which owns ptys on Debian as sshd leaves them (-1: keep the group). */
const TTY_GID = (() => {
  try {
    const line = readFileSync("/etc/group", "utf8")
      .split("\n")
      .find((l) => l.startsWith("tty:"));
    return line ? Number(line.split(":")[2]) : -1;
  } catch {
    return -1;
  }
})();

export interface ShellContext {
  sandbox: Sandbox;
  /** HOME and starting directory. */
  volume: string;
  /** Registers a running program so that stopping the target ends it; returns the unregister. */
  track(p: Killable): () => void;
}

export interface Killable {
  /** Ends the program and everything in its process group. */
  hangUp(): void;
}

export interface Control {
  resize: ((cols: number, rows: number) => void) | null;
  signal(name: string): void;
}

/** A clean environment: the control plane's own (DATABASE_URL and the like) never reaches shells. */
export function baseEnv(ctx: ShellContext, term: string | null, extra: Record<string, string>): Record<string, string> {
  const user = ctx.sandbox.userName;
  return {
    HOME: ctx.volume,
    USER: user,
    LOGNAME: user,
    SHELL: ctx.sandbox.shell,
    PATH: DEFAULT_PATH,
    LANG: "C.UTF-8",
    ...(term ? { TERM: term } : {}),
    ...extra,
  };
}

export function shellArgv(ctx: ShellContext, command: string | null): string[] {
  return command === null ? [ctx.sandbox.shell, "-l"] : [ctx.sandbox.shell, "-c", command];
}

export function runPty(
  ctx: ShellContext,
  channel: ServerChannel,
  command: string | null,
  info: { term: string; cols: number; rows: number },
  env: Record<string, string>,
): Control {
  const launch = ctx.sandbox.wrap(shellArgv(ctx, command), ctx.volume);
  const proc = pty.spawn(launch.file, launch.args, {
    name: info.term,
    cols: clamp(info.cols),
    rows: clamp(info.rows),
    cwd: ctx.volume,
    env: baseEnv(ctx, info.term, env),
    encoding: null,
  });
  let exited = false;
  // As sshd does: the pty belongs to the user who uses it (mesg, write, tools that check).
  const owner = ctx.sandbox.volumeOwner;
  const ptsName = ptsNameOf(proc);
  if (owner && ptsName) {
    try {
      chownSync(ptsName, owner.uid, TTY_GID);
      chmodSync(ptsName, 0o620);
    } catch {
      // The shell already exited; nothing to give away.
    }
  }
  const output = new PtyOutput(proc, channel);
  const drain = new PtyDrain(
    proc,
    () => output.paused,
    () => exited,
  );
  const untrack = ctx.track({ hangUp: () => hangUpGroup(proc.pid, () => !exited) });
  proc.onData((data: string | Buffer) => {
    drain.output();
    output.data(typeof data === "string" ? Buffer.from(data) : data);
  });
  // Bytes as they came (node-pty, encoding null, would UTF-8-encode a string), bounded
  // and without a busy retry while the program does not read: pty-input.ts.
  const input = ptyInput(proc, channel);
  channel.on("data", (d: Buffer) => input.write(d));
  channel.on("error", () => undefined);
  channel.on("close", () => {
    output.close();
    input.close(); // input the program never read goes with the session
    if (!exited) hangUpGroup(proc.pid, () => !exited);
    drain.release();
  });
  // node-pty reports the exit once the pty has hung up (read gave EIO, after the
  // slave was released by the drain), so every byte the program wrote has been read by then.
  proc.onExit(({ exitCode, signal }) => {
    exited = true;
    input.close(); // nobody will read it
    drain.release();
    untrack();
    output.flush(); // the last output goes before the exit status
    reportExit(channel, exitCode, signal ? signalName(signal) : undefined);
  });
  return {
    resize: (cols: number, rows: number) => {
      try {
        proc.resize(clamp(cols), clamp(rows));
      } catch {
        // The pty is already gone.
      }
    },
    signal: (name: string) => sendSignal(proc.pid, name),
  };
}

export function runPipes(ctx: ShellContext, channel: ServerChannel, argv: string[], env: Record<string, string>): Control {
  const launch = ctx.sandbox.wrap(argv, ctx.volume);
  // detached: a session (and process group) of its own, so a hang-up reaches its children too.
  const child = spawn(launch.file, launch.args, {
    cwd: ctx.volume,
    env: baseEnv(ctx, null, env) as NodeJS.ProcessEnv,
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  let exited = false;
  const untrack = ctx.track({ hangUp: () => hangUpGroup(child.pid, () => !exited) });
  child.stdout!.pipe(channel, { end: false });
  child.stderr!.pipe(channel.stderr, { end: false });
  channel.pipe(child.stdin!);
  child.stdin!.on("error", () => undefined);
  channel.on("error", () => undefined);
  channel.on("close", () => !exited && hangUpGroup(child.pid, () => !exited));
  child.on("error", () => {
    exited = true;
    untrack();
    reportExit(channel, 127, undefined);
  });
  // "close": the program exited and its stdout and stderr are fully read.
  child.on("close", (code, sig) => {
    exited = true;
    untrack();
    reportExit(channel, code ?? 0, sig ? sig.replace(/^SIG/, "") : undefined);
  });
  return { resize: null, signal: (name: string) => sendSignal(child.pid, name) };
}

function clamp(n: number): number {
  return Math.max(1, Math.min(1000, Math.floor(n) || 1));
}
