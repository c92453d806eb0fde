"use client";
// Submitting a form to our JSON API: busy state, the error message, and errors per field
// (from `error.details.fields` of a 400/422).
import { useState } from "react";
import { apiFetch, type ApiErrorInfo } from "./client";

export interface ApiFormState {
  busy: boolean;
  error: string | null;
  fieldErrors: Record<string, string>;
}

export interface SubmitOptions {
  method?: string;
  /** The message to show for a refusal, when not the server's own (e.g. one for 429). */
  message?(err: ApiErrorInfo): string;
}

export function useApiForm() {
  const [state, setState] = useState<ApiFormState>({ busy: false, error: null, fieldErrors: {} });
  async function submit(url: string, body: unknown, opts: SubmitOptions = {}): Promise<Response | null> {
    setState({ busy: true, error: null, fieldErrors: {} });
    const r = await apiFetch(url, { method: opts.method ?? "POST", json: body });
    if (r.ok) {
      setState({ busy: false, error: null, fieldErrors: {} });
      return r.res;
    }
    setState({ busy: false, error: opts.message?.(r) ?? r.message, fieldErrors: r.fields });
    return null;
  }
  /** Shows a message that was not the server's (a check made in the browser). */
  const fail = (error: string | null, fieldErrors: Record<string, string> = {}) => setState({ busy: false, error, fieldErrors });
  return { ...state, submit, fail };
}
