"use client";
// Builds the -L command that reaches a port on the target at localhost on one's own machine.
import { useState } from "react";
import type { ClientOs, Endpoint } from "@/lib/connect/commands";
import { FORWARD_PRESETS, forwardCommand, isPort } from "@/lib/connect/port-forward";
import { CopyButton } from "@/components/ui/copy-button";

export function PortForwardForm({ os, at, file, canCopy }: { os: ClientOs; at: Endpoint; file: string; canCopy: boolean }) {
  const [remote, setRemote] = useState("8888");
  const [local, setLocal] = useState("8888");
  const r = Number(remote);
  const l = Number(local);
  const valid = isPort(r) && isPort(l);
  const command = valid ? forwardCommand(os, at, { remote: r, local: l }, file) : null;
  const preset = (port: number) => {
    setRemote(String(port));
    setLocal(String(port));
  };
  return (
    <details className="connect-extra">
      <summary>Forward a port</summary>
      <p className="small">Reach a service on the target (Jupyter, TensorBoard, a web app) at localhost on your machine while this command runs.</p>
      <div className="row">
        {FORWARD_PRESETS.map((p) => (
          <button key={p.port} type="button" className="button small" onClick={() => preset(p.port)} aria-pressed={r === p.port && l === p.port}>
            {p.label} {p.port}
          </button>
        ))}
      </div>
      <div className="fields forward-fields">
        <div className="field">
          <label htmlFor="forward-remote">Port on the target</label>
          <input id="forward-remote" inputMode="numeric" value={remote} onChange={(e) => setRemote(e.target.value.trim())} aria-invalid={!isPort(r)} />
        </div>
        <div className="field">
          <label htmlFor="forward-local">Port on your machine</label>
          <input id="forward-local" inputMode="numeric" value={local} onChange={(e) => setLocal(e.target.value.trim())} aria-invalid={!isPort(l)} />
        </div>
      </div>
      {command ? (
        <>
          <div className="command">
            <code data-testid="forward-command">{command}</code>
            {canCopy && <CopyButton text={command} label="Copy forward command" />}
          </div>
          <p className="muted small">
            Then open <code>http://localhost:{l}</code>.
          </p>
        </>
      ) : (
        <p className="field-error">Ports are whole numbers from 1 to 65535.</p>
      )}
    </details>
  );
}
