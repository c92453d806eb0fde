"use client";
import { loadFresh } from "./load-fresh";
import type { JoinedWorkspace } from "@/lib/http/contract";
import { Field } from "@/components/ui/field";
import { NewPasswordField } from "./new-password-field";
import { useApiForm } from "@/components/api/use-api-form";
import { ErrorAlert } from "@/components/ui/error-alert";

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
      <NewPasswordField label="Password" error={fieldErrors.password} />
      <ErrorAlert message={error} />
      <button type="submit" className="button primary" disabled={busy}>
        {busy ? "Creating…" : "Create the owner account"}
      </button>
    </form>
  );
}
