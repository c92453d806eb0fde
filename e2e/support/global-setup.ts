// Checks the machine has what the browser tests drive before any spec runs.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export default function globalSetup(): void {
  const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(chromium)) throw new Error(`Chromium not found at ${chromium}: run npm test (it installs it) or apt-get install -y chromium`);
  if (!existsSync("/usr/bin/ssh")) throw new Error("The OpenSSH client is missing: apt-get install -y openssh-client");
  // The specs read terminals through a hook only a test build has (components/terminal/test-hooks.ts).
  const chunks = path.join(process.cwd(), ".next", "static", "chunks");
  const files = existsSync(chunks) ? readdirSync(chunks, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".js")) : [];
  const hooked = (text: string) => text.includes("__meshiaTest") && !text.includes("NEXT_PUBLIC_MESHIA_TEST_HOOKS"); // inlined "1": a test build
  if (!files.some((f) => hooked(readFileSync(path.join(chunks, f), "utf8"))))
    throw new Error("The build has no test hooks: build with NEXT_PUBLIC_MESHIA_TEST_HOOKS=1 npx next build (npm test and npm run test:e2e do)");
}
