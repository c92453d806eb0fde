import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { alias: { "@": import.meta.dirname } },
  test: {
    include: ["{lib,db,app,components}/**/*.test.ts", "server.test.ts"],
    environment: "node",
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // PGlite opens take ~1 GB at peak: keep parallelism modest on small machines.
    maxWorkers: 2,
  },
});
