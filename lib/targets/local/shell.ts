// Programs on an SSH session channel: a pty shell or command (node-pty), or plain
// pipes (exec without a pty, and subsystems such as sftp-server), always launched
// through the sandbox. Pty output is coalesced into full SSH packets and drained
// completely before the exit status is reported.
import { spawn } from "node:child_process";
import { chownSync, chmodSync, closeSync, constants as fsConstants, openSync, readFileSync } from "node:fs";
import os from "node:os";
import pty from "node-pty";
import type { ServerChannel } from "ssh2";
import type { Sandbox } from "./sandbox";

/** One SSH packet's worth (ssh2 and OpenSSH clients take 32 KiB packets). */
const COALESCE_BYTES = 32 * 1024;
/** The most a Linux pty read returns in one go, typically (its buffers hold 4095 bytes). */
const PTY_FULL_READ = 4095;
/** Reads below this are interactive (echoes, prompts) or the end of a burst: no waiting. */
const SMALL_READ = 1024;
/** Pty output waiting for SSH window above which we stop reading the pty (one SSH packet)... */
const PTY_PAUSE_BYTES = 32 * 1024;
/** ...and below which we read again. */
const PTY_RESUME_BYTES = 0;
/** Input waiting for the pty above which the channel stops taking more (see runPty)... */
const PTY_INPUT_PAUSE_BYTES = 128 * 1024;
/** ...and below which it takes input again. */
const PTY_INPUT_RESUME_BYTES = 32 * 1024;
const PTY_INPUT_POLL_MS = 5;
/** After SIGHUP, how long a session's processes get before SIGKILL. */
const KILL_GRACE_MS = 2000;
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

/** SIGHUP to the whole process group (each program is a session leader), SIGKILL if it lingers. */
function hangUpGroup(pid: number | undefined, alive: () => boolean): void {
  if (!pid) return;
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  send("SIGHUP");
  setTimeout(() => alive() && send("SIGKILL"), KILL_GRACE_MS).unref();
}

// ---- draining the pty before the exit ---------------------------------------------
//
// When a program on a pty exits while its output is still on the way (`ssh -t host
// 'seq 1 2000'`), the master's read fails with EIO before everything is read: the
// last close of the slave races the kernel moving output into the master's read
// buffer, and node-pty reports the exit with the tail lost (seen: 4 KiB of 11 KiB
// in most runs on a busy machine; node-pty alone does it). So we hold the slave
// open ourselves: while we do, reads simply wait for output in flight. Once the
// program has exited (SIGCHLD, then its /proc entry is gone or a zombie) and no
// output has come for a moment, we let go: the master reads nothing more, gets EIO,
// and node-pty reports the exit after every byte.

/** No output for this long after the exit (and a poll for I/O since): everything the program wrote has been read. */
const DRAIN_QUIET_MS = 50;
const waitingForExit = new Map<number, () => void>();
let sigchldHooked = false;

function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return true;
  }
}

function onChildExited(): void {
  for (const [pid, exited] of waitingForExit) {
    if (!gone(pid)) continue;
    waitingForExit.delete(pid);
    exited();
  }
}

/**
 * Holds the pty's slave open; calls `exited` once the program `pid` has exited.
 * Returns the release (closes our slave descriptor), for every exit path; null when
 * the slave could not be held.
 */
function holdSlave(ptsName: string | undefined, pid: number, exited: () => void): (() => void) | null {
  if (!ptsName) return null;
  let fd: number | null;
  try {
    fd = openSync(ptsName, fsConstants.O_RDWR | fsConstants.O_NOCTTY);
  } catch {
    return null; // not ours to open: node-pty's own exit handling, as before
  }
  const release = () => {
    waitingForExit.delete(pid);
    if (fd === null) return;
    closeSync(fd);
    fd = null;
  };
  waitingForExit.set(pid, exited);
  if (!sigchldHooked) {
    sigchldHooked = true;
    process.on("SIGCHLD", onChildExited);
  }
  if (gone(pid)) onChildExited(); // it exited before we looked
  return release;
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
  const ptsName = (proc as unknown as { _pty?: string })._pty;
  if (owner && ptsName) {
    try {
      chownSync(ptsName, owner.uid, TTY_GID);
      chmodSync(ptsName, 0o620);
    } catch {
      // The shell already exited; nothing to give away.
    }
  }
  let lastOutput = Date.now();
  let drainTimer: NodeJS.Timeout | null = null;
  const drained = () => {
    drainTimer = null;
    const quiet = Date.now() - lastOutput;
    if (quiet < DRAIN_QUIET_MS || paused) {
      drainTimer = setTimeout(drained, Math.max(1, DRAIN_QUIET_MS - quiet));
      return;
    }
    // Timers run before the loop polls for I/O: after a stall, output may be waiting
    // unread. Two turns later a poll has happened; release only if it brought nothing.
    const seen = lastOutput;
    setImmediate(() =>
      setImmediate(() => {
        if (exited) return;
        if (lastOutput === seen && !paused) releaseSlave();
        else drainTimer ??= setTimeout(drained, DRAIN_QUIET_MS);
      }),
    );
  };
  const releaseHold = holdSlave(ptsName, proc.pid, () => {
    drainTimer ??= setTimeout(drained, DRAIN_QUIET_MS);
  });
  // node-pty, once the program has exited, waits 200 ms for the pty to hang up and
  // then destroys its read stream, unread output and all. While we hold the slave
  // (on a busy machine the drain can take longer than that), that destroy waits for
  // the release; after it, the hang-up (EIO) closes the stream, or the deferred
  // destroy does. Without the private `_socket` (another node-pty), nothing changes.
  const socket = (proc as unknown as { _socket?: { destroy(err?: Error): unknown } })._socket;
  const destroy = socket?.destroy;
  let destroyDeferred = false;
  if (releaseHold && socket && destroy) {
    socket.destroy = function (this: unknown, err?: Error) {
      if (!released) {
        destroyDeferred = true;
        return socket;
      }
      return destroy.call(socket, err);
    };
  }
  let released = false;
  const releaseSlave = () => {
    if (released) return;
    released = true;
    releaseHold?.();
    if (releaseHold && socket && destroy) {
      socket.destroy = destroy;
      if (destroyDeferred) setTimeout(() => destroy.call(socket), 200).unref();
    }
  };
  const untrack = ctx.track({ hangUp: () => hangUpGroup(proc.pid, () => !exited) });
  // A pty read returns ~4 KiB at most, and libuv does one read per readiness, so
  // writing each read as it came made one SSH packet per 4 KiB: padding, encryption
  // and a socket write here, a decryption and a data event at the client, per 4 KiB.
  // While reads keep coming turn after turn (a program dumping output), they are
  // collected into one write of up to a full 32 KiB packet, sent after the first
  // turn without a read. A small read (a keystroke echo, a prompt, the tail of a
  // burst) goes out at once. Pending immediates keep the loop from blocking in
  // poll, so waiting a turn costs microseconds, not a timer tick.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let readThisTurn = false;
  let turnCheck: NodeJS.Immediate | null = null;
  let paused = false;
  const flush = () => {
    if (turnCheck) clearImmediate(turnCheck);
    turnCheck = null;
    if (!pendingBytes) return;
    const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    if (!channel.writable) return;
    // Backpressure: when the SSH channel's window is full, stop reading the pty so
    // the program blocks instead of our memory growing. Pause as soon as output
    // waits for window (as sshd does), not when write() says so: that happens only
    // past the stream's 2 MiB high-water mark, and those 2 MiB still reached the
    // browser after a Ctrl-C. Whatever stays in the pty is flushed by the tty on ^C.
    channel.write(data, () => {
      if (paused && channel.writableLength <= PTY_RESUME_BYTES) {
        paused = false;
        proc.resume();
      }
    });
    if (!paused && channel.writableLength > PTY_PAUSE_BYTES) {
      paused = true;
      proc.pause();
    }
  };
  const endOfTurn = () => {
    turnCheck = null;
    if (readThisTurn && !paused) {
      readThisTurn = false;
      turnCheck = setImmediate(endOfTurn);
    } else flush();
  };
  proc.onData((data: string | Buffer) => {
    lastOutput = Date.now();
    const chunk = typeof data === "string" ? Buffer.from(data) : data;
    pending.push(chunk);
    pendingBytes += chunk.length;
    // Flush before another full read would overflow the packet (8 x 4095 fit in 32 KiB, 9 would split).
    if (pendingBytes + PTY_FULL_READ > COALESCE_BYTES || chunk.length < SMALL_READ) return flush();
    readThisTurn = true;
    turnCheck ??= setImmediate(endOfTurn);
  });
  // Bytes as they came: node-pty (encoding null) would UTF-8-encode a string, so a
  // latin1 string of the input doubled every non-ASCII byte.
  //
  // Input backpressure: node-pty queues (a copy of) every write until the pty takes
  // it, without limit, so a program that does not read its input (`sleep 600` under a
  // paste) grew this process by gigabytes. Above PTY_INPUT_PAUSE_BYTES waiting, the
  // channel is paused: ssh2 then stops topping up the client's window once its
  // readable buffer is full, and the client (the bridge) stops sending. node-pty has
  // no drain event, so its queue is looked at every few ms while paused. Without the
  // private queue (another node-pty), input is unbounded, as before.
  const ptyQueue = (proc as unknown as { _writeStream?: { _writeQueue?: { buffer: Buffer; offset: number }[] } })._writeStream?._writeQueue;
  const queuedInput = () => {
    let n = 0;
    for (const t of ptyQueue ?? []) n += t.buffer.length - t.offset;
    return n;
  };
  let inputTimer: NodeJS.Timeout | null = null;
  const inputTaken = () => {
    inputTimer = null;
    if (queuedInput() > PTY_INPUT_RESUME_BYTES) inputTimer = setTimeout(inputTaken, PTY_INPUT_POLL_MS);
    else channel.resume();
  };
  channel.on("data", (d: Buffer) => {
    proc.write(d);
    if (ptyQueue && !inputTimer && queuedInput() > PTY_INPUT_PAUSE_BYTES) {
      channel.pause();
      inputTimer = setTimeout(inputTaken, PTY_INPUT_POLL_MS);
    }
  });
  channel.on("error", () => undefined);
  channel.on("close", () => {
    if (turnCheck) clearImmediate(turnCheck);
    if (inputTimer) clearTimeout(inputTimer);
    inputTimer = null;
    ptyQueue?.splice(0); // input the program never read goes with the session
    pending = [];
    pendingBytes = 0;
    if (!exited) hangUpGroup(proc.pid, () => !exited);
    if (drainTimer) clearTimeout(drainTimer);
    releaseSlave();
  });
  // node-pty reports the exit once the pty has hung up (read gave EIO, after the
  // slave was released above), so every byte the program wrote has been read by then.
  proc.onExit(({ exitCode, signal }) => {
    exited = true;
    ptyQueue?.splice(0); // nobody will read it; node-pty would retry it on a closed fd
    if (drainTimer) clearTimeout(drainTimer);
    releaseSlave();
    untrack();
    flush(); // the last output goes before the exit status
    finish(channel, exitCode, signal ? signalName(signal) : undefined);
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
    finish(channel, 127, undefined);
  });
  // "close": the program exited and its stdout and stderr are fully read.
  child.on("close", (code, sig) => {
    exited = true;
    untrack();
    finish(channel, code ?? 0, sig ? sig.replace(/^SIG/, "") : undefined);
  });
  return { resize: null, signal: (name: string) => sendSignal(child.pid, name) };
}

function clamp(n: number): number {
  return Math.max(1, Math.min(1000, Math.floor(n) || 1));
}

/** A signal the client asked for (SSH names: INT, TERM, ...), to the program. */
function sendSignal(pid: number | undefined, name: string): void {
  if (!pid || !/^[A-Z0-9]+$/.test(name) || !(`SIG${name}` in os.constants.signals)) return;
  try {
    process.kill(pid, `SIG${name}` as NodeJS.Signals);
  } catch {
    // gone
  }
}

/** SSH's name for a signal number (HUP, INT, ...), from the platform's table. */
export function signalName(num: number): string {
  const entry = Object.entries(os.constants.signals).find(([, n]) => n === num);
  return entry ? entry[0].replace(/^SIG/, "") : "TERM";
}

/** exit-status (or exit-signal) must precede EOF/close for `ssh` to report it. */
function finish(channel: ServerChannel, exitCode: number, signal: string | undefined): void {
  if (channel.destroyed) return;
  if (signal) channel.exit(signal, false, "");
  else channel.exit(exitCode);
  channel.end();
}
