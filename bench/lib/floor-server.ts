// The floor a load benchmark can show on this machine: a bare node:http server in a
// process of its own that answers every request with fixed bytes, doing nothing else.
// Measured with the same client, concurrency and rounds as the real server, it says
// how much of a latency figure is the machine, Node's HTTP stack and the client
// itself, and how much is ours.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";

const CODE = `
const http = require("node:http");
const body = Buffer.from(process.env.FLOOR_BODY, "base64");
const headers = { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", "Content-Length": body.length };
const server = http.createServer({ keepAliveTimeout: 65000 }, (req, res) => { res.writeHead(200, headers); res.end(body); });
server.listen(0, "127.0.0.1", () => process.stdout.write(String(server.address().port) + "\\n"));
`;

export interface FloorServer {
  base: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts the floor server answering `body`; its base URL once it listens. */
export async function startFloorServer(body: string): Promise<FloorServer> {
  const child: ChildProcess = spawn(process.execPath, ["-e", CODE], {
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "production", FLOOR_BODY: Buffer.from(body).toString("base64") },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [line] = (await Promise.race([
    once(child.stdout!, "data"),
    once(child, "exit").then(() => {
      throw new Error("the floor server exited before listening");
    }),
  ])) as [Buffer];
  const port = Number(String(line).trim());
  return {
    base: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}
