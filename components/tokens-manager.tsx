"use client";
// The signed-in person's API tokens for this workspace: create (shown once), list, revoke.
import { useState } from "react";
import type { TokenView } from "@/lib/workspaces/tokens";
import { apiDelete } from "./api-errors";
import { CopyButton } from "./copy-button";
import { Field } from "./field";
import { useApiForm } from "./use-api-form";
import { DateTime } from "./date-time";

export function TokensManager({ workspaceId, origin, initialTokens }: { workspaceId: string; origin: string | null; initialTokens: TokenView[] }) {
  const [tokens, setTokens] = useState(initialTokens);
  const [created, setCreated] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const form = useApiForm();
  const base = `/api/workspaces/${workspaceId}/tokens`;
  const refresh = async () => {
    const res = await fetch(base).catch(() => null);
    if (res?.ok) setTokens(((await res.json()) as { tokens: TokenView[] }).tokens);
  };
  const example = created && `curl -H "Authorization: Bearer ${created}" ${origin ?? "<Meshia URL>"}/api/workspaces/${workspaceId}/targets`;

  return (
    <div className="page-body">
      <section aria-labelledby="new-token-title">
        <h2 id="new-token-title">New API token</h2>
        <p className="muted">
          For scripts: send it as <code>Authorization: Bearer …</code>. It acts in this workspace only, with your role, until you revoke it.
        </p>
        <form
          className="inline-form"
          onSubmit={async (e) => {
            e.preventDefault();
            const el = e.currentTarget;
            const res = await form.submit(base, { name: new FormData(el).get("name") });
            if (res) {
              setCreated(((await res.json()) as { token: string }).token);
              el.reset();
              await refresh();
            }
          }}
        >
          <Field label="Name" name="name" placeholder="e.g. ci-deploy" required maxLength={64} error={form.fieldErrors.name} />
          <button type="submit" className="button primary" disabled={form.busy}>
            Create token
          </button>
        </form>
        {form.error && (
          <p role="alert" className="error">
            {form.error}
          </p>
        )}
        {created && (
          <div className="one-time" role="status">
            <p>
              <strong>Copy the token now:</strong> it is not shown again.
            </p>
            <div className="command">
              <code data-testid="new-token">{created}</code>
              <CopyButton text={created} label="Copy token" />
            </div>
            <p className="muted small">For example:</p>
            <div className="command">
              <code>{example}</code>
            </div>
          </div>
        )}
      </section>
      <section aria-labelledby="tokens-title">
        <h2 id="tokens-title">Your tokens</h2>
        {tokens.length === 0 ? (
          <p className="muted">None yet.</p>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Starts with</th>
                <th>Created</th>
                <th>Last used</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {tokens.map((t) => (
                <tr key={t.id}>
                  <td data-label="Name">{t.name}</td>
                  <td data-label="Starts with">
                    <code>{t.start}…</code>
                  </td>
                  <td data-label="Created">
                    <DateTime iso={t.createdAt} />
                  </td>
                  <td data-label="Last used">{t.lastUsedAt ? <DateTime iso={t.lastUsedAt} /> : <span className="muted">never</span>}</td>
                  <td className="actions">
                    <button
                      type="button"
                      className="button small danger-outline"
                      aria-label={`Revoke ${t.name}`}
                      onClick={async () => {
                        setActionError(await apiDelete(`${base}/${t.id}`));
                        await refresh();
                      }}
                    >
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {actionError && (
          <p role="alert" className="error">
            {actionError}
          </p>
        )}
      </section>
    </div>
  );
}
