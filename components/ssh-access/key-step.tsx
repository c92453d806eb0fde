"use client";
// Step 1 of the SSH access dialog: create the workspace key and take its private half once.
import { useEffect, useRef, useState } from "react";
import { KEY_FILE_NAME } from "@/lib/connect/key-file";
import { CopyButton } from "@/components/ui/copy-button";
import { DateTime } from "@/components/ui/date-time";
import type { KeyFile } from "@/components/ssh-access/use-key-file";
import type { useWorkspaceKey } from "@/components/ssh-access/use-workspace-key";
import { ErrorAlert } from "@/components/ui/error-alert";

type Confirm = null | "regenerate" | "revoke";

export function KeyStep({
  k,
  keyFile,
  canManageKey,
  liveText,
}: {
  k: ReturnType<typeof useWorkspaceKey>;
  keyFile: KeyFile;
  canManageKey: boolean;
  liveText: string;
}) {
  const { key, pem, busy, actionError } = k;
  const [confirm, setConfirm] = useState<Confirm>(null);
  const downloadButton = useRef<HTMLButtonElement | null>(null);
  const [focusDownload, setFocusDownload] = useState(false);

  // After Generate or Regenerate, focus goes to what comes next (Download), not to whatever button took the confirm's place.
  useEffect(() => {
    if (focusDownload && pem && downloadButton.current) {
      downloadButton.current.focus();
      setFocusDownload(false);
    }
  }, [focusDownload, pem]);

  const generate = async () => {
    if (await k.generate()) {
      setConfirm(null);
      setFocusDownload(true);
    }
  };
  const revoke = async () => {
    if (await k.revoke()) setConfirm(null);
  };

  return (
    <section className="step" aria-labelledby="step-1">
      <h3 id="step-1">
        <span className="step-number">1</span> Create a workspace key
      </h3>
      {key.kind === "loading" && <p className="muted">Loading…</p>}
      {key.kind === "error" && (
        <p role="alert" className="error">
          {key.message}{" "}
          <button type="button" className="link-button" onClick={() => void k.load()}>
            Try again
          </button>
        </p>
      )}
      {key.kind === "none" && !canManageKey && <p>This workspace has no key yet. Ask a workspace owner to generate one.</p>}
      {key.kind === "none" && canManageKey && (
        <>
          <p>This workspace has no key yet. Generate one, then download it or copy it.</p>
          <button type="button" className="button primary" onClick={() => void generate()} disabled={busy}>
            {busy ? "Generating…" : "Generate"}
          </button>
        </>
      )}
      {key.kind === "saved" && (
        <>
          {pem && (
            <>
              <p className="callout warning" role="note" data-testid="one-time-warning">
                <strong>This is the only time the private key is shown.</strong> Download or copy it now: Meshia keeps only the public key.
              </p>
              <div className="pem-actions">
                <button ref={downloadButton} type="button" className="button primary" onClick={() => keyFile.download(pem)}>
                  Download {KEY_FILE_NAME}
                </button>
                {keyFile.canPick && (
                  <button type="button" className="button" onClick={() => void keyFile.saveAs(pem)}>
                    Save as…
                  </button>
                )}
                <CopyButton text={pem} label="Copy" />
              </div>
            </>
          )}
          <dl className="key-facts">
            <dt>Type</dt>
            <dd>{key.key.algorithm}</dd>
            <dt>Fingerprint</dt>
            <dd>
              <code data-testid="key-fingerprint">{key.key.fingerprint}</code>
            </dd>
            <dt>Saved</dt>
            <dd>
              <DateTime iso={key.key.savedAt} />
            </dd>
            <dt>Applies to</dt>
            <dd data-testid="live-target-count">{liveText}</dd>
          </dl>
          {!pem && (
            <p className="muted small">
              Meshia keeps only the public key and the time it was saved; the private key was handed out once, when it was generated.
            </p>
          )}
          {!canManageKey && <p className="muted small">Only workspace owners can regenerate or revoke the key; ask one for the key file.</p>}
          {canManageKey && confirm === null && (
            <div className="row">
              <button type="button" className="button" onClick={() => setConfirm("regenerate")} disabled={busy}>
                Regenerate
              </button>
              <button type="button" className="button danger-outline" onClick={() => setConfirm("revoke")} disabled={busy}>
                Revoke
              </button>
            </div>
          )}
          {confirm !== null && (
            <div className="confirm" role="group" aria-labelledby="confirm-text">
              <p id="confirm-text">
                {confirm === "regenerate"
                  ? `Regenerate the key? The old key stops working on all live compute (${liveText}) at once.`
                  : `Revoke the key? It stops working on all live compute (${liveText}) at once, and nobody can connect with it until a new key is generated.`}
              </p>
              <div className="row">
                <button type="button" className="button" onClick={() => setConfirm(null)} disabled={busy}>
                  Cancel
                </button>
                <button type="button" className="button danger" onClick={() => void (confirm === "regenerate" ? generate() : revoke())} disabled={busy}>
                  {busy ? "Working…" : confirm === "regenerate" ? "Regenerate key" : "Revoke key"}
                </button>
              </div>
            </div>
          )}
        </>
      )}
      <ErrorAlert message={actionError} />
    </section>
  );
}
