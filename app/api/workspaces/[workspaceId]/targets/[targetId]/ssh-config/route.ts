// GET /api/workspaces/{workspaceId}/targets/{targetId}/ssh-config – the ~/.ssh/config entry for this target's current boot, its known_hosts lines and the editor links (members).
import { z } from "zod";
import { withWorkspace } from "@/lib/auth/access";
import { connectableTarget, targetSshConfig } from "@/lib/connect/target-connect";
import { KEY_FILE_NAME, isSafeKeyFileName } from "@/lib/connect/key-file";
import { defineRoute, json, param, readQuery } from "@/lib/http/route";

const query = z.object({
  os: z.enum(["unix", "powershell", "wsl"]).default("unix"),
  file: z.string().refine(isSafeKeyFileName, "file must be a plain file name (letters, digits, space, . _ - + ( ))").default(KEY_FILE_NAME),
});

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  GET: withWorkspace(async (req, ctx) => {
    const q = readQuery(req, query);
    const target = await connectableTarget(ctx.db, ctx.workspace.id, param(ctx, "targetId"));
    return json(targetSshConfig(ctx.workspace, target, q));
  }),
});
