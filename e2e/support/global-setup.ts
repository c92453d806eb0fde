// Checks the machine has what the browser tests drive before any spec runs.
import { existsSync } from "node:fs";

export default function globalSetup(): void {
  const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(chromium)) throw new Error(`Chromium not found at ${chromium}: run npm test (it installs it) or apt-get install -y chromium`);
  if (!existsSync("/usr/bin/ssh")) throw new Error("The OpenSSH client is missing: apt-get install -y openssh-client");
}
