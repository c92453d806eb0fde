"use client";
// Submitting a form to our JSON API: busy state, the error message, and errors per field
// (from `error.details.fields` of a 400/422).
import { useState } from "react";
import { OFFLINE_MESSAGE, readApiError } from "./api-errors";

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
      const err = await readApiError(res);
      setState({ busy: false, error: err.message, fieldErrors: err.fields });
      return null;
    } catch {
      setState({ busy: false, error: OFFLINE_MESSAGE, fieldErrors: {} });
      return null;
    }
  }
  return { ...state, submit };
}
