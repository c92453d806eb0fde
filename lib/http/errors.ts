// One error type for the API and one mapping to HTTP status. Domain code throws
// ApiError, or a subclass that names its code (and details) once in its constructor,
// so routes never map errors by hand. Anything else thrown is a bug: logged with a
// request id and answered with a generic 500.
import { BrandedError } from "@/lib/util/branded-error";

export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  invalid_field: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  rate_limited: 429,
  internal_error: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ApiError extends BrandedError {
  static override readonly brand: string = "ApiError";

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export function errorBody(code: ErrorCode, message: string, details?: Record<string, unknown>) {
  return { error: { code, message, ...(details ? { details } : {}) } };
}

/** Our code for an HTTP status another component answered with (better-auth). */
export function codeForStatus(status: number): ErrorCode {
  const found = Object.entries(ERROR_STATUS).find(([c, s]) => s === status && c !== "invalid_json" && c !== "invalid_field");
  return (found?.[0] ?? (status >= 500 ? "internal_error" : "bad_request")) as ErrorCode;
}
