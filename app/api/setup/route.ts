// POST /api/setup – the one-time setup link: creates the owner account of the default
// workspace and signs it in. Works once, and only while no account exists.
import { z } from "zod";
import { appDb } from "@/db/client";
import { auth } from "@/lib/auth/auth";
import { assertSameOrigin } from "@/lib/auth/access";
import { completeSetup } from "@/lib/auth/setup";
import type { JoinedWorkspace } from "@/lib/http/contract";
import { defineRoute, json, readJson } from "@/lib/http/route";
import { accountFields } from "@/lib/auth/validate";

const body = z.strictObject({ token: z.string().min(1).max(200), ...accountFields });

export const { GET, POST, PUT, PATCH, DELETE } = defineRoute({
  POST: async (req) => {
    assertSameOrigin(req);
    const input = await readJson(req, body);
    const { headers, workspaceId } = await completeSetup(await appDb(), await auth(), input);
    const res = json({ workspaceId } satisfies JoinedWorkspace, { status: 201 });
    for (const c of headers.getSetCookie()) res.headers.append("Set-Cookie", c);
    return res;
  },
});
