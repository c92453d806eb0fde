"use client";
// The ~/.ssh/config entry for the target (from GET …/ssh-config), its known_hosts
// lines, and the editor links that use the entry. When the target came back on
// another port since the entry was copied, it says so and offers the new one.
import { useEffect, useState } from "react";
import type { ClientOs } from "@/lib/connect/commands";
import type { SshConfig } from "@/lib/connect/ssh-config";
import { apiFetch } from "@/components/api/client";
import { CopyButton } from "@/components/ui/copy-button";
import { browserValuesChanged, useBrowserValue } from "@/components/ui/use-browser-value";

const copiedPortKey = (targetId: string) => `meshia.sshConfigPort.${targetId}`;

function copiedPort(targetId: string): number | null {
  try {
    const v = Number(localStorage.getItem(copiedPortKey(targetId)));
    return Number.isInteger(v) && v > 0 ? v : null;
  } catch {
    return null;
  }
}

const CONFIG_FILE: Record<ClientOs, string> = { unix: "~/.ssh/config", powershell: "$env:USERPROFILE\\.ssh\\config", wsl: "~/.ssh/config" };
const KNOWN_HOSTS: Record<ClientOs, string> = { unix: "~/.ssh/known_hosts", powershell: "$env:USERPROFILE\\.ssh\\known_hosts", wsl: "~/.ssh/known_hosts" };

export function SshConfigPanel({ workspaceId, targetId, port, os, file }: { workspaceId: string; targetId: string; port: number; os: ClientOs; file: string }) {
  const [cfg, setCfg] = useState<SshConfig | null>(null);
  const [error, setError] = useState<string | null>(null);
  const prev = useBrowserValue(() => copiedPort(targetId), null);
  const was = prev !== null && prev !== port ? prev : null;
  // Open from the start when the port changed since the entry was copied (the parent
  // keys this panel by target and port, so a new port starts it again).
  const [open, setOpen] = useState(was !== null);

  useEffect(() => {
    let live = true;
    const q = new URLSearchParams({ os, file });
    void apiFetch<SshConfig>(`/api/workspaces/${workspaceId}/targets/${targetId}/ssh-config?${q}`).then((r) => {
      if (!live) return;
      setError(r.ok ? null : r.message);
      if (r.ok) setCfg(r.data);
    });
    return () => {
      live = false;
    };
  }, [workspaceId, targetId, port, os, file]);

  const remember = () => {
    try {
      localStorage.setItem(copiedPortKey(targetId), String(port));
    } catch {
      // Private mode: no notice next time.
    }
    browserValuesChanged();
  };

  return (
    <details className="connect-extra" open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>ssh config, VS Code and Cursor</summary>
      {was !== null && (
        <p className="callout warning" role="status" data-testid="port-changed">
          The target came back on a new port: {port} (it was {was} when you copied the entry). Copy the updated entry below, or change the Port line in{" "}
          {CONFIG_FILE[os]}.
        </p>
      )}
      {error && <p className="error">{error}</p>}
      {cfg && (
        <>
          <p className="small">
            Add this to <code>{CONFIG_FILE[os]}</code>, then <code>ssh {cfg.alias}</code> is enough.
          </p>
          <div className="command block">
            <pre data-testid="ssh-config">{cfg.config}</pre>
            <CopyButton text={cfg.config} label="Copy ssh config" onCopy={remember} />
          </div>
          {cfg.knownHosts && (
            <>
              <p className="small">
                Add this line to <code>{KNOWN_HOSTS[os]}</code> too, and ssh trusts the target without asking you to type &quot;yes&quot; (without it, ssh asks
                once, as before).
              </p>
              <div className="command block">
                <pre data-testid="known-hosts">{cfg.knownHosts}</pre>
                <CopyButton text={cfg.knownHosts} label="Copy known_hosts line" />
              </div>
            </>
          )}
          <p className="row editor-links">
            <a className="button" href={cfg.vscodeUrl} data-testid="open-vscode">
              Open in VS Code
            </a>
            <a className="button" href={cfg.cursorUrl} data-testid="open-cursor">
              Open in Cursor
            </a>
          </p>
          <p className="muted small">These open the target through the ssh config entry above (and the Remote - SSH extension): add the entry first.</p>
        </>
      )}
    </details>
  );
}
