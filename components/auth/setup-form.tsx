"use client";
import { loadFresh } from "./load-fresh";
import type { JoinedWorkspace } from "@/lib/http/contract";
import { Field } from "@/components/ui/field";
import { useApiForm } from "@/components/api/use-api-form";

export function SetupForm({ token }: { token: string }) {
  const { busy, error, fieldErrors, submit } = useApiForm();
  return (
    <form
      className="auth-form"
      onSubmit={async (e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        const res = await submit("/api/setup", { token, name: f.get("name"), email: f.get("email"), password: f.get("password") });
        if (res) loadFresh(`/w/${((await res.json()) as JoinedWorkspace).workspaceId}`);
      }}
    >
      <Field label="Your name" name="name" autoComplete="name" required error={fieldErrors.name} />
      <Field label="Email" name="email" type="email" autoComplete="username" required error={fieldErrors.email} />
      <Field
        label="Password (10 characters or more)"
        name="password"
        type="password"
        autoComplete="new-password"
        minLength={10}
        required
        error={fieldErrors.password}
      />
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <button type="submit" className="button primary" disabled={busy}>
        {busy ? "Creating…" : "Create the owner account"}
      </button>
    </form>
  );
}
