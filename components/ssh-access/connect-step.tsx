"use client";
// Step 2 of the SSH access dialog: how to connect to the selected target from one's
// own machine — the command per OS, the ssh config and editors, port forwarding, and
// a connection test.
import { useState } from "react";
import { connectCommand, detectClientOs, isLoopbackHost, type ClientOs } from "@/lib/connect/commands";
import type { TargetView } from "@/lib/targets/registry";
import { ConnectionTest } from "@/components/ssh-access/connection-test";
import { KeyFileName } from "@/components/ssh-access/key-file-name";
import { OsCommand, OsTabs } from "@/components/ssh-access/os-command-tabs";
import { PortForwardForm } from "@/components/ssh-access/port-forward-form";
import { SshConfigPanel } from "@/components/ssh-access/ssh-config-panel";
import type { KeyFile } from "@/components/ssh-access/use-key-file";
import { useBrowserValue } from "@/components/ui/use-browser-value";

function detectedOs(): ClientOs {
  const nav = navigator as Navigator & { userAgentData?: { platform?: string } };
  return detectClientOs(nav.userAgentData?.platform || nav.platform || "", nav.userAgent);
}

export function ConnectStep({
  workspaceId,
  target,
  keyExists,
  canManageKey,
  keyFile,
}: {
  workspaceId: string;
  target: TargetView | null;
  /** null while loading. */
  keyExists: boolean | null;
  canManageKey: boolean;
  keyFile: KeyFile;
}) {
  const detected = useBrowserValue(detectedOs, "unix");
  const [chosen, setOs] = useState<ClientOs | null>(null);
  const os = chosen ?? detected;

  const at = target?.sshCommand && target.port ? { host: target.host, port: target.port } : null;
  const canCopy = keyExists === true;
  return (
    <section className="step" aria-labelledby="step-2">
      <h3 id="step-2">
        <span className="step-number">2</span> Copy the command
      </h3>
      {!target && <p className="muted">Open a terminal tab on a compute target first.</p>}
      {target && !at && !target.unavailable && <p className="muted">{target.name} has not booted yet: there is no address to connect to.</p>}
      {target?.unavailable && (
        <p className="error">
          {target.name} is unavailable: {target.unavailable.reason} {target.unavailable.fix}
        </p>
      )}
      {target && at && (
        <>
          <p>
            Paste it into your own terminal to get a shell on <strong>{target.name}</strong>
            {target.status !== "live" && <span className="warning"> (currently {target.status})</span>}.
          </p>
          {keyExists === false && (
            <p className="callout" data-testid="no-key-yet">
              {canManageKey
                ? "Generate the workspace key in step 1 first: the command needs it."
                : "There is no workspace key yet: ask a workspace owner to generate one."}
            </p>
          )}
          {isLoopbackHost(at.host) && (
            <p className="callout warning" data-testid="loopback-note">
              {at.host} is a loopback address: this command works only on the machine Meshia runs on. To connect from elsewhere, the operator sets{" "}
              <code>MESHIA_TARGET_PUBLIC_HOST</code> to an address people can reach.
            </p>
          )}
          <OsTabs os={os} onChange={setOs} label="Your terminal" />
          <OsCommand os={os} command={connectCommand(os, at, keyFile.name)} canCopy={canCopy} />
          <KeyFileName keyFile={keyFile} />
          {target.hostKeyFingerprint && (
            <p className="muted small">
              On first connect, ssh asks you to confirm the host key: it should say{" "}
              <span className="nowrap">
                {target.hostKeyType ?? ""} key fingerprint is <code data-testid="host-key-fingerprint">{target.hostKeyFingerprint}</code>
              </span>
              . This address and port are for the target&apos;s current boot.
            </p>
          )}
          <ConnectionTest workspaceId={workspaceId} targetId={target.id} />
          <SshConfigPanel key={`${target.id}:${at.port}`} workspaceId={workspaceId} targetId={target.id} port={at.port} os={os} file={keyFile.name} />
          <PortForwardForm os={os} at={at} file={keyFile.name} canCopy={canCopy} />
        </>
      )}
    </section>
  );
}
