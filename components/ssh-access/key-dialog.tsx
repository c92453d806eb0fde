"use client";
// The SSH access dialog: (1) create the workspace key and take its private half once,
// (2) connect to the selected target from one's own terminal. The PEM lives only in
// memory (useWorkspaceKey, in the dialog's content) while the dialog is open.
import * as Dialog from "@radix-ui/react-dialog";
import { useRef } from "react";
import type { TargetView } from "@/lib/http/contract";
import { ConnectStep } from "@/components/ssh-access/connect-step";
import { CloseIcon } from "@/components/ui/icons";
import { KeyStep } from "@/components/ssh-access/key-step";
import { useKeyFile, type KeyFile } from "@/components/ssh-access/use-key-file";
import { useWorkspaceKey } from "@/components/ssh-access/use-workspace-key";

/** The two steps; mounted while the dialog is open, so closing it forgets the private key. */
function KeyDialogSteps({
  workspaceId,
  target,
  liveTargets,
  canManageKey,
  keyFile,
}: {
  workspaceId: string;
  target: TargetView | null;
  liveTargets: number;
  canManageKey: boolean;
  keyFile: KeyFile;
}) {
  const k = useWorkspaceKey(workspaceId);
  const liveText = `${liveTargets} live compute target${liveTargets === 1 ? "" : "s"}`;
  const keyExists = k.key.kind === "saved" ? true : k.key.kind === "none" ? false : null;
  return (
    <>
      <KeyStep k={k} keyFile={keyFile} canManageKey={canManageKey} liveText={liveText} />
      <ConnectStep workspaceId={workspaceId} target={target} keyExists={keyExists} canManageKey={canManageKey} keyFile={keyFile} />
    </>
  );
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
  const keyFile = useKeyFile();
  const opener = useRef<HTMLElement | null>(null);

  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content
          className="dialog"
          aria-describedby="key-dialog-description"
          // The dialog's buttons live in the tab bar and the panel header, not in a
          // Dialog.Trigger, so Radix has no trigger to return focus to and it fell to
          // <body> on close: remember what had focus when the dialog opened and give it back.
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
          <KeyDialogSteps workspaceId={workspaceId} target={target} liveTargets={liveTargets} canManageKey={canManageKey} keyFile={keyFile} />
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
