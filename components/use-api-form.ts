"use client";
// Submitting a form to our JSON API: busy state, the error message, and errors per field
// (from `error.details.fields` of a 400/422).
import { useState } from "react";

export interface ApiFormState {
  busy: boolean;
  error: string | null;
  fieldErrors: Record<string, string>;
}

export function useApiForm() {
  const [state, setState] = useState<ApiFormState>({ busy: false, error: null, fieldErrors: {} });
  async function submit(url: string, body: unknown, method = "POST"): Promise<Response | null> {
    setState({ busy: true, error: null, fieldErrors: {} });
    try {
      const res = await fetch(url, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      if (res.ok) {
        setState({ busy: false, error: null, fieldErrors: {} });
        return res;
      }
      const data = (await res.json().catch(() => null)) as {
        error?: { message?: string; details?: { fields?: { field: string; message: string }[] } };
        message?: string;
      } | null;
      const fieldErrors: Record<string, string> = {};
      for (const f of data?.error?.details?.fields ?? []) fieldErrors[f.field] = f.message;
      setState({ busy: false, error: data?.error?.message ?? data?.message ?? `The server answered ${res.status}.`, fieldErrors });
      return null;
    } catch {
      setState({ busy: false, error: "Could not reach Meshia. Check your connection and try again.", fieldErrors: {} });
      return null;
    }
  }
  return { ...state, submit };
}
