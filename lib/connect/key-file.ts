// The key file name a command points at. Browsers rename a repeated download
// ("meshia_key (1).pem"), so people may need to name another file: only names that
// are safe to paste into a shell (quoted) are accepted.
import { KEY_FILE_NAME } from "@/lib/targets/ssh-command";

export { KEY_FILE_NAME };

const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._ ()+-]{0,99}$/;

/** A plain file name (no directory), as browsers and file pickers give it; the characters a renamed download has. */
export function isSafeKeyFileName(name: string): boolean {
  return SAFE_NAME.test(name) && !name.endsWith(" ");
}

/** Quotes a safe name for a POSIX shell (only when needed, so the default command stays as it was). */
export function posixName(name: string): string {
  if (!isSafeKeyFileName(name)) throw new Error("unsafe key file name");
  return /^[A-Za-z0-9._+-]+$/.test(name) ? name : `'${name}'`;
}
