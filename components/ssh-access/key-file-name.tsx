"use client";
// The key file name the commands use, editable: for a browser that renamed a repeated download.
import type { KeyFile } from "@/components/ssh-access/use-key-file";

export function KeyFileName({ keyFile }: { keyFile: KeyFile }) {
  if (!keyFile.renamed && !keyFile.picked && keyFile.draftValid) return null;
  return (
    <div className="key-file-name">
      {keyFile.renamed && !keyFile.picked && (
        <p className="callout warning" role="note" data-testid="rename-warning">
          You have downloaded the key before: your browser may have saved this one as <code>meshia_key (1).pem</code> or similar, and the command would then use
          the old key. Type the name your browser used:
        </p>
      )}
      {keyFile.picked && (
        <p className="small">
          The commands use the name you chose. They assume the file is in your Downloads folder; if you saved it elsewhere, change the path.
        </p>
      )}
      <div className="field">
        <label htmlFor="key-file-name">Key file name (in Downloads)</label>
        <input
          id="key-file-name"
          value={keyFile.draft}
          onChange={(e) => keyFile.setDraft(e.target.value)}
          aria-invalid={!keyFile.draftValid}
          spellCheck={false}
          autoComplete="off"
        />
        {!keyFile.draftValid && <p className="field-error">Letters, digits, spaces and . _ - + ( ) only; the commands use meshia_key.pem until then.</p>}
      </div>
    </div>
  );
}
