// The first-start setup link: creates the owner account of the default workspace.
import type { Metadata } from "next";
import { connection } from "next/server";
import { SetupForm } from "@/components/auth/setup-form";
import { appDb } from "@/db/client";
import { hasUsers } from "@/lib/auth/setup";
import Link from "next/link";

export const metadata: Metadata = { title: "Set up — Meshia" };

export default async function SetupPage({ searchParams }: { searchParams: Promise<{ token?: string | string[] }> }) {
  await connection();
  const { token } = await searchParams;
  const done = await hasUsers(await appDb());
  return (
    <main className="auth-page">
      <h1>
        <span className="brand">Meshia</span> — first start
      </h1>
      {done ? (
        <p>
          Setup is already done. <Link href="/sign-in">Sign in</Link>.
        </p>
      ) : typeof token !== "string" || !token ? (
        <p>Open the setup link the server printed when it started (it ends with ?token=…).</p>
      ) : (
        <>
          <p className="muted">Create the owner account of this Meshia. This link works once.</p>
          <SetupForm token={token} />
        </>
      )}
    </main>
  );
}
