// Who is calling: a signed-in browser (session cookie) or a script with an API
// token (Authorization: Bearer mshk_…), which is scoped to one workspace.
import { eq } from "drizzle-orm";
import { db } from "@/db/client";
import { user } from "@/db/schema";
import { auth } from "./auth";
import { API_TOKEN_PREFIX } from "./options";

export interface Principal {
  userId: string;
  email: string;
  name: string;
  via: "session" | "token";
  /** For API tokens: the one workspace the token may act in. */
  tokenWorkspaceId?: string;
  tokenId?: string;
}

function bearer(headers: Headers): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(headers.get("authorization") ?? "");
  return m?.[1] ?? null;
}

export async function principalFrom(headers: Headers): Promise<Principal | null> {
  const a = await auth();
  const token = bearer(headers);
  if (token) {
    // Target tokens (mtt_) belong to other routes; only API tokens identify a person.
    if (!token.startsWith(API_TOKEN_PREFIX)) return null;
    const res = await a.api.verifyApiKey({ body: { key: token } }).catch(() => null);
    if (!res?.valid || !res.key) return null;
    const metadata = (res.key.metadata ?? {}) as { workspaceId?: unknown };
    if (typeof metadata.workspaceId !== "string") return null;
    const [owner] = await (await db()).select().from(user).where(eq(user.id, res.key.referenceId)).limit(1);
    if (!owner) return null;
    return {
      userId: owner.id,
      email: owner.email,
      name: owner.name,
      via: "token",
      tokenWorkspaceId: metadata.workspaceId,
      tokenId: res.key.id,
    };
  }
  const session = await a.api.getSession({ headers }).catch(() => null);
  if (!session) return null;
  return { userId: session.user.id, email: session.user.email, name: session.user.name, via: "session" };
}
