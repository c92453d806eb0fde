// Calling our JSON API from the browser: one fetch helper that turns every answer
// into data or a message to show ({ error: { code, message, details } } answers,
// and the network being down).
import type { ApiErrorBody } from "@/lib/http/contract";

export const OFFLINE_MESSAGE = "Could not reach Meshia. Check your connection and try again.";

export interface ApiErrorInfo {
  /** The HTTP status; 0 when the server could not be reached. */
  status: number;
  message: string;
  /** Per-field messages from a 400/422 (`details.fields`). */
  fields: Record<string, string>;
}

export async function readApiError(res: Response): Promise<ApiErrorInfo> {
  const data = (await res.json().catch(() => null)) as ApiErrorBody | null;
  const fields: Record<string, string> = {};
  for (const f of data?.error?.details?.fields ?? []) fields[f.field] ??= f.message;
  return { status: res.status, message: data?.error?.message ?? `The server answered ${res.status}.`, fields };
}

export type ApiResult<T> = { ok: true; data: T; res: Response } | ({ ok: false } & ApiErrorInfo);

/**
 * Fetches `url`; `json` is sent as the JSON body. A 2xx answer is read as JSON
 * (`data` is null for an empty or non-JSON body); anything else becomes its message.
 */
export async function apiFetch<T>(url: string, init: Omit<RequestInit, "body"> & { json?: unknown } = {}): Promise<ApiResult<T>> {
  const { json, ...rest } = init;
  let res: Response;
  try {
    res = await fetch(url, {
      cache: "no-store",
      ...rest,
      ...(json !== undefined ? { body: JSON.stringify(json), headers: { "Content-Type": "application/json", ...rest.headers } } : {}),
    });
  } catch {
    return { ok: false, status: 0, message: OFFLINE_MESSAGE, fields: {} };
  }
  if (!res.ok) return { ok: false, ...(await readApiError(res)) };
  const data = (await res
    .clone()
    .json()
    .catch(() => null)) as T;
  return { ok: true, data, res };
}

/** DELETE a resource: null when it is gone (404 included: someone else removed it), else what went wrong. */
export async function apiDelete(url: string): Promise<string | null> {
  const r = await apiFetch(url, { method: "DELETE" });
  return r.ok || r.status === 404 ? null : r.message;
}
