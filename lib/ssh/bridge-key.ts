// The control plane's own SSH client key: the web terminal logs in with it, never
// with a user's key. Created on first start; the private part stays in the data directory.
import path from "node:path";
import { config } from "@/lib/config";
import { singleton } from "@/lib/global";
import { loadOrCreateKeyFile, type KeyFile } from "@/lib/keys/key-file";

export function bridgeKey(): KeyFile {
  return singleton("bridgeKey", () => loadOrCreateKeyFile(path.join(config().dataDir, "keys", "bridge_ed25519"), "meshia-bridge"));
}
