// Structured logging: one JSON line per event on stdout. Never pass key material here.
import pino from "pino";
import { config } from "./config";
import { processGlobal } from "./global";

export type Logger = pino.Logger;

/** The process's logger; a test sets one that captures lines. */
export const loggerGlobal = processGlobal<Logger>("logger", () =>
  pino({
    level: config().logLevel,
    base: { svc: "meshia" },
    // Defence in depth: should a PEM ever be attached to a log object by mistake,
    // it is censored rather than written.
    redact: { paths: ["pem", "privateKey", "*.pem", "*.privateKey", "token", "*.token"], censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: serializeError },
  }),
);

export function logger(): Logger {
  return loggerGlobal.get();
}

/**
 * Query errors carry the query's parameters (Drizzle puts them in its message and in
 * `params`; Postgres repeats values in `detail`): a key hash, a token name, an email.
 * They are never logged; the query text, the SQL state and the constraint are enough.
 */
const PARAM_FIELDS = new Set(["params", "parameters", "detail", "where"]);

/** Drizzle's "Failed query: …\nparams: a,b" without the parameters. */
export function withoutParams(message: string): string {
  const at = message.indexOf("\nparams: ");
  return at < 0 ? message : `${message.slice(0, at)}\nparams: [redacted]`;
}

function describe(value: unknown, depth: number): unknown {
  if (!value || typeof value !== "object" || depth > 4) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = PARAM_FIELDS.has(k) ? "[redacted]" : v;
  if (value instanceof Error) {
    const message = withoutParams(value.message);
    out.type = value.constructor?.name ?? value.name;
    out.message = message;
    if (value.stack) out.stack = value.stack.replace(value.message, message);
  }
  if ("cause" in value && (value as { cause?: unknown }).cause) out.cause = describe((value as { cause: unknown }).cause, depth + 1);
  return out;
}

/** pino's `err` serializer: the error, its causes, and never a query's parameters. */
export function serializeError(err: unknown): unknown {
  return describe(err, 0);
}
