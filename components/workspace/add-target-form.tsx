"use client";
// The "Add target" form: registers an OpenSSH target, then shows its token (once)
// and exactly what to install on the host. Field errors from the API (400/422 with
// details.fields) are shown next to the field they name.
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { useApiForm } from "@/components/api/use-api-form";
import { CopyButton } from "@/components/ui/copy-button";
import type { Registration, TargetView } from "@/lib/http/contract";
import { ErrorAlert } from "@/components/ui/error-alert";

type Field = "name" | "host" | "port";
const FIELDS: readonly string[] = ["name", "host", "port"] satisfies Field[];

function basename(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

export function AddTargetForm({ workspaceId, onAdded }: { workspaceId: string; onAdded(target: TargetView): void }) {
  const id = useId();
  const [values, setValues] = useState<Record<Field, string>>({ name: "", host: "", port: "22" });
  const form = useApiForm();
  const busy = form.busy;
  const [registration, setRegistration] = useState<Registration | null>(null);
  // Errors on our three fields go next to them; any other field's, and the message, go under the form.
  const errors: Partial<Record<Field, string>> = Object.fromEntries(Object.entries(form.fieldErrors).filter(([f]) => FIELDS.includes(f)));
  const other = Object.entries(form.fieldErrors)
    .filter(([f]) => !FIELDS.includes(f))
    .map(([f, m]) => `${f}: ${m}`);
  const formError = form.error && (other.length || Object.keys(errors).length === 0) ? other.join("; ") || form.error : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const port = values.port.trim();
    // Only the shape is checked here; what a valid name, host or port is, the API decides.
    if (port !== "" && !/^\d+$/.test(port)) return form.fail("port must be a number (1-65535)", { port: "port must be a number (1-65535)" });
    const res = await form.submit(`/api/workspaces/${workspaceId}/targets`, {
      name: values.name,
      host: values.host,
      ...(port !== "" ? { port: Number(port) } : {}),
    });
    if (!res) return;
    const reg = (await res.json()) as Registration;
    setRegistration(reg);
    setValues({ name: "", host: "", port: "22" });
    onAdded(reg.target);
  };

  const input = (field: Field, label: string, extra: { placeholder?: string; inputMode?: "numeric"; autoComplete?: string } = {}) => {
    const inputId = `${id}-${field}`;
    const errorId = `${inputId}-error`;
    return (
      <div className={`field field-${field}`}>
        <label htmlFor={inputId}>{label}</label>
        <input
          id={inputId}
          name={field}
          value={values[field]}
          onChange={(e) => setValues((v) => ({ ...v, [field]: e.target.value }))}
          aria-invalid={errors[field] ? true : undefined}
          aria-describedby={errors[field] ? errorId : undefined}
          spellCheck={false}
          autoComplete={extra.autoComplete ?? "off"}
          placeholder={extra.placeholder}
          inputMode={extra.inputMode}
        />
        {errors[field] && (
          <p id={errorId} className="field-error" data-testid={`error-${field}`}>
            {errors[field]}
          </p>
        )}
      </div>
    );
  };

  return (
    <>
      <form className="card add-target" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${id}-title`}>
        <h2 id={`${id}-title`}>Add an OpenSSH target</h2>
        <p className="muted small">
          A host running OpenSSH. Its sshd asks Meshia for the workspace key at every login, so a new key works at once and a revoked one is refused at once.
        </p>
        <div className="fields">
          {input("name", "Name", { placeholder: "gpu-box-1" })}
          {input("host", "Public host", { placeholder: "203.0.113.10 or host.example.com" })}
          {input("port", "SSH port", { placeholder: "22", inputMode: "numeric" })}
          <button type="submit" className="button primary" disabled={busy}>
            {busy ? "Adding…" : "Add target"}
          </button>
        </div>
        <ErrorAlert message={formError} />
        {Object.keys(errors).length > 0 && (
          <p role="alert" className="visually-hidden">
            {Object.entries(errors)
              .map(([f, m]) => `${f}: ${m}`)
              .join("; ")}
          </p>
        )}
      </form>
      {registration && <RegistrationResult registration={registration} onDone={() => setRegistration(null)} />}
    </>
  );
}

function RegistrationResult({ registration, onDone }: { registration: Registration; onDone(): void }) {
  const { target, token, install } = registration;
  const heading = useRef<HTMLHeadingElement>(null);
  // The result appears below the form: bring it (and the one-time token) into view.
  useEffect(() => {
    heading.current?.scrollIntoView({ block: "start" });
    heading.current?.focus();
  }, [target.id]);
  const files = Object.entries(install).filter((e): e is [string, string] => e[0].startsWith("/") && typeof e[1] === "string");
  const steps = install.steps ?? [];
  return (
    <section className="card registration" aria-labelledby="registration-title" data-testid="registration" data-target-id={target.id}>
      <h2 id="registration-title" ref={heading} tabIndex={-1}>
        Target “{target.name}” added
      </h2>
      <h3>Its token</h3>
      <p className="warning">
        Shown only this once: Meshia keeps only a hash of it. It is already inside <code>target.conf</code> below.
      </p>
      <div className="command">
        <code data-testid="target-token">{token}</code>
        <CopyButton text={token} label="Copy token" />
      </div>

      <h3>Files to install</h3>
      {files.map(([path, content]) => (
        <figure key={path} className="install-file">
          <figcaption>
            <code>{path}</code> <span className="muted">(save as {basename(path)})</span>
            <CopyButton text={content} label={`Copy ${basename(path)}`} className="button small" />
          </figcaption>
          <pre data-testid="install-file" data-path={path}>
            {content}
          </pre>
        </figure>
      ))}

      <h3>Install steps</h3>
      <ol className="install-steps">
        {steps.map((step) => (
          <li key={step.title}>
            <p>{step.title}</p>
            <div className="command">
              <pre>
                <code>{step.command}</code>
              </pre>
              <CopyButton text={step.command} label="Copy" className="button small" />
            </div>
          </li>
        ))}
      </ol>
      <p className="muted small">
        The target shows as live once the agent has reported its boot; the host key it reports is pinned, and the web terminal refuses any other.
      </p>
      <button type="button" className="button" onClick={onDone}>
        Done (forget the token)
      </button>
    </section>
  );
}
