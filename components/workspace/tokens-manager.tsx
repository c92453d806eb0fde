"use client";
// The signed-in person's API tokens for this workspace: create (shown once), list, revoke.
import { useState } from "react";
import { apiFetch } from "@/components/api/client";
import { useApiForm } from "@/components/api/use-api-form";
import { CopyButton } from "@/components/ui/copy-button";
import { DataTable, type Column } from "@/components/ui/data-table";
import { DateTime } from "@/components/ui/date-time";
import { Field } from "@/components/ui/field";
import { RemovalError, RemoveButton, useRowRemoval } from "@/components/ui/row-removal";
import type { CreatedToken, TokenView, TokensResponse } from "@/lib/http/contract";
import { ErrorAlert } from "@/components/ui/error-alert";

const COLUMNS: Column<TokenView>[] = [
  { header: "Name", cell: (t) => t.name },
  { header: "Starts with", cell: (t) => <code>{t.start}…</code> },
  { header: "Created", cell: (t) => <DateTime iso={t.createdAt} /> },
  { header: "Last used", cell: (t) => (t.lastUsedAt ? <DateTime iso={t.lastUsedAt} /> : <span className="muted">never</span>) },
];

export function TokensManager({ workspaceId, origin, initialTokens }: { workspaceId: string; origin: string | null; initialTokens: TokenView[] }) {
  const [tokens, setTokens] = useState(initialTokens);
  const [created, setCreated] = useState<string | null>(null);
  const form = useApiForm();
  const base = `/api/workspaces/${workspaceId}/tokens`;
  const refresh = async () => {
    const r = await apiFetch<TokensResponse>(base);
    if (r.ok) setTokens(r.data.tokens);
  };
  const removal = useRowRemoval(refresh);
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
              setCreated(((await res.json()) as CreatedToken).token);
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
        <ErrorAlert message={form.error} />
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
          <DataTable
            rows={tokens}
            columns={COLUMNS}
            rowKey={(t) => t.id}
            actions={(t) => <RemoveButton removal={removal} id={t.id} url={`${base}/${t.id}`} label={`Revoke ${t.name}`} verb="Revoke" />}
          />
        )}
        <RemovalError removal={removal} />
      </section>
    </div>
  );
}
