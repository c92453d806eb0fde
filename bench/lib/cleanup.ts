// Everything a benchmark starts is registered here and undone in reverse order:
// at the end of main(), on an error, and on Ctrl-C / SIGTERM.
type Task = () => Promise<unknown> | unknown;

const tasks: Task[] = [];
let hooked = false;

export function defer(task: Task): void {
  hook();
  tasks.push(task);
}

export async function cleanup(): Promise<void> {
  while (tasks.length) {
    const task = tasks.pop()!;
    try {
      await task();
    } catch (err) {
      console.error("cleanup step failed:", err);
    }
  }
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      console.error(`\n${sig}: cleaning up…`);
      setTimeout(() => process.exit(130), 20_000).unref();
      void cleanup().then(() => process.exit(130));
    });
  }
}

/** Runs a benchmark's main with cleanup on every exit path. */
export function run(main: () => Promise<void>): void {
  main()
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(() => cleanup());
}
