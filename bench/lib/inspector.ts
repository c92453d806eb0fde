// A one-off look inside the server process through the inspector it was started
// with (--inspect on a bench port): force a GC and read process.memoryUsage();
// measure the event loop's own delay (perf_hooks.monitorEventLoopDelay).
import WebSocket from "ws";

export class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, (v: unknown) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => {
      const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
      if (msg.id !== undefined) this.pending.get(msg.id)?.(msg.error ? new Error(msg.error.message) : msg.result);
    });
  }

  static async connect(port: number): Promise<Inspector> {
    const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
    const url = list[0]?.webSocketDebuggerUrl;
    if (!url) throw new Error("no inspector target");
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new Inspector(ws);
  }

  private call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (v) => (v instanceof Error ? reject(v) : resolve(v)));
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Evaluates an expression in the server's main context; `require` is available. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = (await this.call("Runtime.evaluate", { expression, includeCommandLineAPI: true, returnByValue: true })) as {
      result: { value: T };
      exceptionDetails?: { text: string };
    };
    if (r.exceptionDetails) throw new Error(`evaluate failed: ${r.exceptionDetails.text}`);
    return r.result.value;
  }

  /** Starts (or restarts) an event-loop delay histogram in the server (10 ms resolution). */
  async startLoopDelay(): Promise<void> {
    await this.evaluate(
      "globalThis.__benchLoopDelay?.disable(); globalThis.__benchLoopDelay = require('node:perf_hooks').monitorEventLoopDelay({ resolution: 10 }); globalThis.__benchLoopDelay.enable(); true",
    );
  }

  /** Event-loop delay since startLoopDelay(), in ms (the timer resolution is included in the values). */
  async loopDelay(): Promise<{ p50: number; p99: number; max: number }> {
    return JSON.parse(
      await this.evaluate<string>(
        "(() => { const h = globalThis.__benchLoopDelay; h.disable(); return JSON.stringify({ p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 }); })()",
      ),
    ) as { p50: number; p99: number; max: number };
  }

  /** process.memoryUsage() after a full GC. */
  async memory(): Promise<NodeJS.MemoryUsage> {
    await this.call("HeapProfiler.collectGarbage");
    await this.call("HeapProfiler.collectGarbage");
    const r = (await this.call("Runtime.evaluate", { expression: "JSON.stringify(process.memoryUsage())", returnByValue: true })) as {
      result: { value: string };
    };
    return JSON.parse(r.result.value) as NodeJS.MemoryUsage;
  }

  close(): void {
    this.ws.close();
  }
}
