// Reading the API's error answers ({ error: { code, message, details } }) in the browser.

export const OFFLINE_MESSAGE = "Could not reach Meshia. Check your connection and try again.";

export interface ApiErrorInfo {
  status: number;
  message: string;
  /** Per-field messages from a 400/422 (`details.fields`). */
  fields: Record<string, string>;
}

export async function readApiError(res: Response): Promise<ApiErrorInfo> {
  const data = (await res.json().catch(() => null)) as {
    error?: { message?: string; details?: { fields?: { field: string; message: string }[] } };
  } | null;
  const fields: Record<string, string> = {};
  for (const f of data?.error?.details?.fields ?? []) fields[f.field] = f.message;
  return { status: res.status, message: data?.error?.message ?? `The server answered ${res.status}.`, fields };
}

/** DELETE a resource: null when it is gone (404 included: someone else removed it), else what went wrong. */
export async function apiDelete(url: string): Promise<string | null> {
  let res: Response;
  try {
    res = await fetch(url, { method: "DELETE" });
  } catch {
    return OFFLINE_MESSAGE;
  }
  return res.ok || res.status === 404 ? null : (await readApiError(res)).message;
}
