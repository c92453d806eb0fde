"use client";
// The key dialog: (1) create the workspace key and take its private half once,
// (2) copy the ssh command for the selected target. The PEM lives only in this
// component's memory while the dialog is open.
import * as Dialog from "@radix-ui/react-dialog";
import { useCallback, useEffect, useRef, useState } from "react";
import type { KeyView } from "@/lib/keys/store";
import type { TargetView } from "@/lib/targets/registry";
import { KEY_FILE_NAME } from "@/lib/targets/ssh-command";
import { readApiError } from "./api-errors";
import { CopyButton } from "./copy-button";
import { CloseIcon } from "./icons";

type KeyState = { kind: "loading" } | { kind: "none" } | { kind: "saved"; key: Omit<KeyView, "publicKey"> } | { kind: "error"; message: string };
type Confirm = null | "regenerate" | "revoke";


function formatTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

function downloadPem(pem: string): void {
  const url = URL.createObjectURL(new Blob([pem], { type: "application/x-pem-file" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = KEY_FILE_NAME;
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Give the download a moment to start before the object URL goes away.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function KeyDialog({
  workspaceId,
  target,
  liveTargets,
  canManageKey,
  open,
  onOpenChange,
}: {
  workspaceId: string;
  target: TargetView | null;
  liveTargets: number;
  /** Owners generate, regenerate and revoke; members see the fingerprint and copy the command. */
  canManageKey: boolean;
  open: boolean;
  onOpenChange(open: boolean): void;
}) {
  const [key, setKey] = useState<KeyState>({ kind: "loading" });
  const [pem, setPem] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<Confirm>(null);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const opener = useRef<HTMLElement | null>(null);
  const base = `/api/workspaces/${workspaceId}/key`;

  const load = useCallback(async () => {
    setKey({ kind: "loading" });
    try {
      const res = await fetch(base, { cache: "no-store" });
      if (res.status === 404) return setKey({ kind: "none" });
      if (!res.ok) return setKey({ kind: "error", message: (await readApiError(res)).message });
      const k = (await res.json()) as KeyView;
      setKey({ kind: "saved", key: { fingerprint: k.fingerprint, algorithm: k.algorithm, savedAt: k.savedAt } });
    } catch {
      setKey({ kind: "error", message: "Could not reach Meshia. Check your connection and try again." });
    }
  }, [base]);

  useEffect(() => {
    if (open) void load();
    else {
      // Closing the dialog forgets the private key.
      setPem(null);
      setConfirm(null);
      setActionError(null);
    }
  }, [open, load]);

  const generate = async () => {
    setBusy(true);
    setActionError(null);
    try {
      const res = await fetch(base, { method: "POST" });
      if (!res.ok) return setActionError((await readApiError(res)).message);
      const text = await res.text();
      setPem(text);
      setKey({
        kind: "saved",
        key: {
          fingerprint: res.headers.get("X-Key-Fingerprint") ?? "",
          algorithm: res.headers.get("X-Key-Algorithm") ?? "",
          savedAt: res.headers.get("X-Key-Saved-At") ?? new Date().toISOString(),
        },
      });
      setConfirm(null);
    } catch {
      setActionError("Could not reach Meshia; no key was created.");
    } finally {
      setBusy(false);
    }
  };

  const revoke = async () => {
    setBusy(true);
    setActionError(null);
    try {
      const res = await fetch(base, { method: "DELETE" });
      if (!res.ok && res.status !== 404) return setActionError((await readApiError(res)).message);
      setPem(null);
      setConfirm(null);
      setKey({ kind: "none" });
    } catch {
      setActionError("Could not reach Meshia; the key was not revoked.");
    } finally {
      setBusy(false);
    }
  };

  const liveText = `${liveTargets} live compute target${liveTargets === 1 ? "" : "s"}`;

  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content
          className="dialog"
          aria-describedby="key-dialog-description"
          // The key icon lives in the tab bar, not in a Dialog.Trigger, so Radix has no
          // trigger to return focus to and it fell to <body> on close: remember what
          // had focus when the dialog opened and give it back.
          onOpenAutoFocus={() => {
            opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
          }}
          onCloseAutoFocus={(e) => {
            if (!opener.current?.isConnected) return;
            e.preventDefault();
            opener.current.focus();
          }}
        >
          <div className="dialog-head">
            <Dialog.Title>SSH access</Dialog.Title>
            <Dialog.Close className="icon-button" aria-label="Close">
              <CloseIcon />
            </Dialog.Close>
          </div>
          <Dialog.Description id="key-dialog-description" className="muted">
            Connect from your own terminal with the workspace key. It works on every live compute target of this workspace.
          </Dialog.Description>

          <section className="step" aria-labelledby="step-1">
            <h3 id="step-1">
              <span className="step-number">1</span> Create a workspace key
            </h3>
            {key.kind === "loading" && <p className="muted">Loading…</p>}
            {key.kind === "error" && (
              <p role="alert" className="error">
                {key.message}{" "}
                <button type="button" className="link-button" onClick={() => void load()}>
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
                  <div className="pem-actions">
                    <button type="button" className="button primary" onClick={() => downloadPem(pem)}>
                      Download {KEY_FILE_NAME}
                    </button>
                    <CopyButton text={pem} label="Copy" />
                  </div>
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
                    <time dateTime={key.key.savedAt}>{formatTime(key.key.savedAt)}</time>
                  </dd>
                  <dt>Applies to</dt>
                  <dd data-testid="live-target-count">{liveText}</dd>
                </dl>
                <p className="muted small">
                  {pem
                    ? "This is the only time the private key is shown: download or copy it now. Meshia keeps only the public key and the time it was saved."
                    : "Meshia keeps only the public key and the time it was saved; the private key was handed out once, when it was generated."}
                </p>
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
                      <button
                        type="button"
                        className="button danger"
                        onClick={() => void (confirm === "regenerate" ? generate() : revoke())}
                        disabled={busy}
                      >
                        {busy ? "Working…" : confirm === "regenerate" ? "Regenerate key" : "Revoke key"}
                      </button>
                    </div>
                  </div>
                )}
              </>
            )}
            {actionError && (
              <p role="alert" className="error">
                {actionError}
              </p>
            )}
          </section>

          <section className="step" aria-labelledby="step-2">
            <h3 id="step-2">
              <span className="step-number">2</span> Copy the command
            </h3>
            {!target && <p className="muted">Open a terminal tab on a compute target first.</p>}
            {target && !target.sshCommand && !target.unavailable && <p className="muted">{target.name} has not booted yet: there is no address to connect to.</p>}
            {target?.unavailable && (
              <p className="error">
                {target.name} is unavailable: {target.unavailable.reason} {target.unavailable.fix}
              </p>
            )}
            {target?.sshCommand && (
              <>
                <p>
                  Paste it into your own terminal to get a shell on <strong>{target.name}</strong>
                  {target.status !== "live" && <span className="warning"> (currently {target.status})</span>}.
                </p>
                <div className="command">
                  <code data-testid="ssh-command">{target.sshCommand}</code>
                  <CopyButton text={target.sshCommand} label="Copy command" />
                </div>
                {target.hostKeyFingerprint && (
                  <p className="muted small">
                    On first connect, ssh asks you to confirm the host key: it should be{" "}
                    <code data-testid="host-key-fingerprint">{target.hostKeyFingerprint}</code>. This address and port are for the
                    target&apos;s current boot.
                  </p>
                )}
              </>
            )}
          </section>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
