import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { SignInForm } from "@/components/auth/sign-in-form";
import { appDb } from "@/db/client";
import { currentUser } from "@/lib/auth/page-access";
import { hasUsers } from "@/lib/auth/setup";
import { safeNext } from "@/lib/auth/safe-next";

export const metadata: Metadata = { title: "Sign in — Meshia" };

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ next?: string | string[] }> }) {
  const next = safeNext((await searchParams).next);
  if (await currentUser()) redirect(next);
  // First start: nobody can sign in yet, and nobody can invite; the setup link is the way in.
  const firstStart = !(await hasUsers(await appDb()));
  return (
    <main className="auth-page">
      <h1>
        <span className="brand">Meshia</span> SSH access
      </h1>
      {firstStart ? (
        <p data-testid="first-start">
          No account exists yet. Open the setup link printed in the server&apos;s output when it started (…/setup?token=…) to create the owner account.
        </p>
      ) : (
        <p className="muted">Sign in to reach your workspace&apos;s compute. New here? Ask a workspace owner for an invitation.</p>
      )}
      {!firstStart && <SignInForm next={next} />}
    </main>
  );
}
