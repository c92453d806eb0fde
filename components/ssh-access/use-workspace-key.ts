"use client";
// The workspace key as the dialog sees it: loaded when the dialog opens, generated
// (the PEM is kept in memory only until the dialog closes) and revoked.
import { useCallback, useEffect, useState } from "react";
import type { KeyView } from "@/lib/keys/store";
import { readApiError } from "@/components/api/client";

export type KeyState = { kind: "loading" } | { kind: "none" } | { kind: "saved"; key: Omit<KeyView, "publicKey"> } | { kind: "error"; message: string };

export function useWorkspaceKey(workspaceId: string, open: boolean) {
  const [key, setKey] = useState<KeyState>({ kind: "loading" });
  const [pem, setPem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
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
      setActionError(null);
    }
  }, [open, load]);

  /** True when a new key was made. */
  const generate = async (): Promise<boolean> => {
    setBusy(true);
    setActionError(null);
    try {
      const res = await fetch(base, { method: "POST" });
      if (!res.ok) {
        setActionError((await readApiError(res)).message);
        return false;
      }
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
      return true;
    } catch {
      setActionError("Could not reach Meshia; no key was created.");
      return false;
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (): Promise<boolean> => {
    setBusy(true);
    setActionError(null);
    try {
      const res = await fetch(base, { method: "DELETE" });
      if (!res.ok && res.status !== 404) {
        setActionError((await readApiError(res)).message);
        return false;
      }
      setPem(null);
      setKey({ kind: "none" });
      return true;
    } catch {
      setActionError("Could not reach Meshia; the key was not revoked.");
      return false;
    } finally {
      setBusy(false);
    }
  };

  return { key, pem, busy, actionError, load, generate, revoke };
}
