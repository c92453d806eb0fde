// GET /target-scripts/{name} – the scripts an OpenSSH target installs, served from
// scripts/target/ so operators can fetch exactly the version this control plane expects.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { ApiError } from "@/lib/http/errors";
import { defineRoute, param } from "@/lib/http/route";

const SCRIPTS = new Set(["meshia-authorized-keys", "meshia-target-agent"]);

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: async (_req, ctx) => {
    const name = param(ctx, "name");
    if (!SCRIPTS.has(name)) throw new ApiError("not_found", "No such script.");
    const body = await readFile(path.join(process.cwd(), "scripts", "target", name), "utf8");
    return new Response(body, { headers: { "Content-Type": "text/x-shellscript; charset=utf-8", "Cache-Control": "no-cache" } });
  },
});
