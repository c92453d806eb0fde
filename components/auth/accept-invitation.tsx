"use client";
import { loadFresh } from "./load-fresh";
import type { JoinedWorkspace } from "@/lib/http/contract";
import Link from "next/link";
import { Field } from "@/components/ui/field";
import { NewPasswordField } from "./new-password-field";
import { useApiForm } from "@/components/api/use-api-form";
import { ErrorAlert } from "@/components/ui/error-alert";

export function AcceptInvitation({
  invitationId,
  email,
  signedInAs,
  hasAccount,
}: {
  invitationId: string;
  email: string;
  signedInAs: string | null;
  hasAccount: boolean;
}) {
  const { busy, error, fieldErrors, submit } = useApiForm();
  const url = `/api/invitations/${invitationId}/accept`;
  const go = async (body: unknown) => {
    const res = await submit(url, body);
    if (res) loadFresh(`/w/${((await res.json()) as JoinedWorkspace).workspaceId}`);
  };
  const errorLine = <ErrorAlert message={error} />;

  if (signedInAs) {
    return (
      <div className="auth-form">
        <p>
          You are signed in as <strong>{signedInAs}</strong>.
        </p>
        {errorLine}
        <button type="button" className="button primary" disabled={busy} onClick={() => void go({})}>
          {busy ? "Joining…" : "Join the workspace"}
        </button>
      </div>
    );
  }
  if (hasAccount) {
    return (
      <p>
        {email} already has an account: <Link href={`/sign-in?next=${encodeURIComponent(`/invite/${invitationId}`)}`}>sign in</Link> to accept.
      </p>
    );
  }
  return (
    <form
      className="auth-form"
      onSubmit={(e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        void go({ name: f.get("name"), password: f.get("password") });
      }}
    >
      <Field label="Email" name="email" value={email} readOnly />
      <Field label="Your name" name="name" autoComplete="name" required error={fieldErrors.name} />
      <NewPasswordField label="Choose a password" error={fieldErrors.password} />
      {errorLine}
      <button type="submit" className="button primary" disabled={busy}>
        {busy ? "Creating your account…" : "Create account and join"}
      </button>
    </form>
  );
}
