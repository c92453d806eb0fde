// The one rule for every name a person gives something (workspace, API token,
// account, target…): no control characters and no bidirectional overrides. A name
// is shown in lists, logs, audit rows and terminals; ESC could drive a terminal,
// a newline could forge a log or audit line, and U+202E could make "evil.pem"
// read as something else. Checked before trimming, so a trailing newline is refused
// rather than silently cut.
import { z } from "zod";

/**
 * C0 controls and DEL, C1 controls (U+0080–U+009F, NEL U+0085 among them), the
 * bidi embeddings/overrides U+202A–U+202E and isolates U+2066–U+2069, and the bare
 * direction marks U+200E, U+200F and U+061C.
 */
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u;

export function hasForbiddenCharacters(value: string): boolean {
  return FORBIDDEN.test(value);
}

/** Why a name is refused (the route's 400 prefixes it with the field's path). */
export const FORBIDDEN_MESSAGE =
  "must not contain control characters (newline, tab, ESC, NUL, U+0080–U+009F) or bidirectional-override characters (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C)";

/** A required name of at most `max` characters, trimmed, with the rule above. */
export function nameField(max: number, field = "name") {
  return z
    .string()
    .refine((v) => !hasForbiddenCharacters(v), `${field} ${FORBIDDEN_MESSAGE}`)
    .trim()
    .min(1, `${field} must not be empty`)
    .max(max, `${field} must be at most ${max} characters`);
}
