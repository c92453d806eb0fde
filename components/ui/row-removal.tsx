"use client";
// Removing a row (a member, an invitation, a token, a target): the button asks for a
// confirmation in place, the DELETE goes out, and a refusal is shown under the table.
import { useState } from "react";
import { apiDelete } from "@/components/api/client";
import { ErrorAlert } from "./error-alert";

export interface RowRemoval {
  confirming: string | null;
  error: string | null;
  ask(id: string): void;
  cancel(): void;
  remove(id: string, url: string): Promise<void>;
  /** Shows another action's failure in the same place. */
  fail(message: string | null): void;
}

/** `onRemoved` runs once the row is gone on the server (a 404 counts: someone else removed it). */
export function useRowRemoval(onRemoved: (id: string) => void | Promise<void>): RowRemoval {
  const [confirming, setConfirming] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  return {
    confirming,
    error,
    ask(id) {
      setError(null);
      setConfirming(id);
    },
    cancel: () => setConfirming(null),
    async remove(id, url) {
      setError(null);
      const failed = await apiDelete(url);
      if (failed) return setError(failed);
      setConfirming(null);
      await onRemoved(id);
    },
    fail: setError,
  };
}

/**
 * "Remove" (or `verb`), then in its place `keep` and the confirming button, both
 * named `label` ("Remove gamma"), so the second click on the same name confirms.
 */
export function RemoveButton({
  removal,
  id,
  url,
  label,
  verb = "Remove",
  keep = "Cancel",
}: {
  removal: RowRemoval;
  id: string;
  url: string;
  label: string;
  verb?: string;
  keep?: string;
}) {
  if (removal.confirming !== id) {
    return (
      <button type="button" className="button small danger-outline" aria-label={label} onClick={() => removal.ask(id)}>
        {verb}
      </button>
    );
  }
  return (
    <span className="row" role="group" aria-label={`Confirm: ${label}`}>
      <button type="button" className="button small" onClick={removal.cancel}>
        {keep}
      </button>
      <button type="button" className="button small danger" onClick={() => void removal.remove(id, url)}>
        {label}
      </button>
    </span>
  );
}

export function RemovalError({ removal }: { removal: RowRemoval }) {
  return <ErrorAlert message={removal.error} />;
}
