import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { SignInForm } from "@/components/sign-in-form";
import { currentUser } from "@/lib/auth/page-access";
import { safeNext } from "@/lib/auth/safe-next";

export const metadata: Metadata = { title: "Sign in — Meshia" };

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ next?: string | string[] }> }) {
  const next = safeNext((await searchParams).next);
  if (await currentUser()) redirect(next);
  return (
    <main className="auth-page">
      <h1>
        <span className="brand">Meshia</span> SSH access
      </h1>
      <p className="muted">Sign in to reach your workspace&apos;s compute. New here? Ask a workspace owner for an invitation.</p>
      <SignInForm next={next} />
    </main>
  );
}
