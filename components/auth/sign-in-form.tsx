"use client";
import { useState } from "react";
import { OFFLINE_MESSAGE, readApiError } from "@/components/api/client";
import { Field } from "@/components/ui/field";

export function SignInForm({ next }: { next: string }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      className="auth-form"
      onSubmit={async (e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        setBusy(true);
        setError(null);
        try {
          const res = await fetch("/api/auth/sign-in/email", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ email: form.get("email"), password: form.get("password") }),
          });
          if (res.ok) {
            window.location.href = next;
            return;
          }
          setError(res.status === 429 ? "Too many attempts. Wait a few seconds and try again." : (await readApiError(res)).message);
        } catch {
          setError(OFFLINE_MESSAGE);
        } finally {
          setBusy(false);
        }
      }}
    >
      <Field label="Email" name="email" type="email" autoComplete="username" required />
      <Field label="Password" name="password" type="password" autoComplete="current-password" required />
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <button type="submit" className="button primary" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
