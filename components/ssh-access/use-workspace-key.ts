"use client";
// The workspace key as the dialog sees it: loaded when the dialog opens, generated
// (the PEM is kept in memory only while the dialog is open: the dialog's content,
// which holds this hook, unmounts on close) and revoked.
import { useCallback, useEffect, useState } from "react";
import { apiFetch } from "@/components/api/client";
import type { KeyView } from "@/lib/http/contract";

export type KeyState = { kind: "loading" } | { kind: "none" } | { kind: "saved"; key: Omit<KeyView, "publicKey"> } | { kind: "error"; message: string };

async function fetchKey(url: string): Promise<KeyState> {
  const r = await apiFetch<KeyView>(url);
  if (!r.ok) return r.status === 404 ? { kind: "none" } : { kind: "error", message: r.message };
  return { kind: "saved", key: { fingerprint: r.data.fingerprint, algorithm: r.data.algorithm, savedAt: r.data.savedAt } };
}

export function useWorkspaceKey(workspaceId: string) {
  const [key, setKey] = useState<KeyState>({ kind: "loading" });
  const [pem, setPem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const base = `/api/workspaces/${workspaceId}/key`;

  useEffect(() => {
    let live = true;
    void fetchKey(base).then((k) => live && setKey(k));
    return () => {
      live = false;
    };
  }, [base]);

  /** Loads the key again (after an error). */
  const load = useCallback(async () => {
    setKey({ kind: "loading" });
    setKey(await fetchKey(base));
  }, [base]);

  /** True when a new key was made. */
  const generate = async (): Promise<boolean> => {
    setBusy(true);
    setActionError(null);
    const r = await apiFetch(base, { method: "POST" });
    setBusy(false);
    if (!r.ok) {
      setActionError(r.message);
      return false;
    }
    setPem(await r.res.text());
    const h = r.res.headers;
    setKey({
      kind: "saved",
      key: {
        fingerprint: h.get("X-Key-Fingerprint") ?? "",
        algorithm: h.get("X-Key-Algorithm") ?? "",
        savedAt: h.get("X-Key-Saved-At") ?? new Date().toISOString(),
      },
    });
    return true;
  };

  const revoke = async (): Promise<boolean> => {
    setBusy(true);
    setActionError(null);
    const r = await apiFetch(base, { method: "DELETE" });
    setBusy(false);
    if (!r.ok && r.status !== 404) {
      setActionError(r.message);
      return false;
    }
    setPem(null);
    setKey({ kind: "none" });
    return true;
  };

  return { key, pem, busy, actionError, load, generate, revoke };
}
