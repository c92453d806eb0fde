"use client";
import { useApiForm } from "@/components/api/use-api-form";
import { Field } from "@/components/ui/field";
import { loadFresh } from "./load-fresh";
import { ErrorAlert } from "@/components/ui/error-alert";

export function SignInForm({ next }: { next: string }) {
  const { busy, error, submit } = useApiForm();
  return (
    <form
      className="auth-form"
      onSubmit={async (e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        const res = await submit(
          "/api/auth/sign-in/email",
          { email: form.get("email"), password: form.get("password") },
          { message: (err) => (err.status === 429 ? "Too many attempts. Wait a few seconds and try again." : err.message) },
        );
        if (res) loadFresh(next);
      }}
    >
      <Field label="Email" name="email" type="email" autoComplete="username" required />
      <Field label="Password" name="password" type="password" autoComplete="current-password" required />
      <ErrorAlert message={error} />
      <button type="submit" className="button primary" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
