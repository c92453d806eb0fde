import { randomBytes } from "node:crypto";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { alias: { "@": import.meta.dirname } },
  test: {
    include: ["{lib,db,app,components,deploy}/**/*.test.ts"],
    environment: "node",
    // Bridge credentials derive from this secret; a fresh one per run keeps tests off
    // the data directory (the secret would otherwise be made in ./.meshia/keys).
    // Test targets live on 127.0.0.2 and 127.0.0.3, which the network policy refuses by default.
    env: { MESHIA_BRIDGE_SECRET: randomBytes(32).toString("hex"), MESHIA_TARGET_ALLOWED_NETWORKS: "127.0.0.2/32,127.0.0.3/32" },
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // PGlite opens take ~1 GB at peak: keep parallelism modest on small machines.
    maxWorkers: 2,
  },
});
