// First start: with no accounts yet, the server prints a one-time setup link (like
// Jupyter's token URL). Opening it creates the owner account of the default workspace.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { and, count, eq, gt } from "drizzle-orm";
import type { Db } from "@/db/client";
import { user, verification } from "@/db/schema";
import { audit } from "@/lib/audit";
import { ApiError } from "@/lib/http/errors";
import { addMember } from "@/lib/workspaces/members";
import { ensureDefaultWorkspace } from "@/lib/workspaces/workspaces";
import type { Auth } from "./auth";

const IDENTIFIER = "meshia:setup";
const SETUP_TTL_MS = 24 * 3600 * 1000;

const hash = (token: string) => createHash("sha256").update(token).digest("hex");

export async function hasUsers(db: Db): Promise<boolean> {
  const [row] = await db.select({ n: count() }).from(user);
  return (row?.n ?? 0) > 0;
}

/**
 * With no accounts yet, (re)issues the setup token and returns it (only its hash is
 * stored); with accounts, returns null. A restart before setup issues a new token.
 */
export async function issueSetupToken(db: Db, fixed?: string): Promise<string | null> {
  if (await hasUsers(db)) return null;
  const token = fixed ?? randomBytes(24).toString("base64url");
  const now = new Date();
  await db.transaction(async (tx) => {
    await tx.delete(verification).where(eq(verification.identifier, IDENTIFIER));
    await tx
      .insert(verification)
      .values({ identifier: IDENTIFIER, value: hash(token), expiresAt: new Date(now.getTime() + SETUP_TTL_MS), createdAt: now, updatedAt: now });
  });
  return token;
}

async function restore(db: Db, rows: { value: string; expiresAt: Date }[]): Promise<void> {
  for (const r of rows) {
    await db.insert(verification).values({ identifier: IDENTIFIER, value: r.value, expiresAt: r.expiresAt, createdAt: new Date(), updatedAt: new Date() });
  }
}

/** Uses the setup token (once): creates the owner account and signs it in. Returns better-auth's Set-Cookie headers. */
export async function completeSetup(
  db: Db,
  auth: Auth,
  input: { token: string; name: string; email: string; password: string },
): Promise<{ headers: Headers; workspaceId: string }> {
  const want = Buffer.from(hash(input.token), "hex");
  // Consume first: of two concurrent attempts, one deletes the row and the other finds none.
  const consumed = await db
    .delete(verification)
    .where(and(eq(verification.identifier, IDENTIFIER), gt(verification.expiresAt, new Date())))
    .returning({ value: verification.value, expiresAt: verification.expiresAt });
  const match = consumed.some((r) => {
    const got = Buffer.from(r.value, "hex");
    return got.length === want.length && timingSafeEqual(got, want);
  });
  if (!match) {
    // A wrong guess must not burn the real token.
    await restore(db, consumed);
    throw new ApiError("not_found", "This setup link is not valid (it works once, and only before the first account exists).");
  }
  if (await hasUsers(db)) throw new ApiError("not_found", "Setup is already done: sign in instead.");
  let signedUp;
  try {
    signedUp = await auth.api.signUpEmail({
      body: { name: input.name, email: input.email, password: input.password },
      returnHeaders: true,
    });
  } catch (err) {
    // The account was not made (a value the database refused, a database that went
    // away): the link must keep working, or the only way in would be a restart.
    await restore(db, consumed).catch(() => undefined);
    throw err;
  }
  const { headers, response } = signedUp;
  const workspace = await ensureDefaultWorkspace(db);
  await addMember(db, workspace.id, response.user.id, "owner");
  await audit(db, { workspaceId: workspace.id, actor: response.user.id, action: "auth.setup", detail: { email: input.email } });
  return { headers, workspaceId: workspace.id };
}
