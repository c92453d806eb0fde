// A target's pinned host keys: normalised as reported at boot, and checked against
// what the bridge's SSH client is shown.
import type { ComputeTarget } from "@/db/schema";
import { keyIdentity, keyTypeLabel, parsePublicKeyLine } from "@/lib/keys/fingerprint";

const HOST_KEY_ORDER = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"];

/** Normalises reported host keys: identities only (no comments), sorted, de-duplicated. */
export function normaliseHostKeys(lines: string[]): string[] {
  const ids = new Set<string>();
  for (const line of lines) {
    const id = keyIdentity(line);
    if (!id) throw new Error("not an OpenSSH public-key line");
    ids.add(id);
  }
  const rank = (l: string) => {
    const i = HOST_KEY_ORDER.indexOf(l.split(" ")[0] ?? "");
    return i < 0 ? HOST_KEY_ORDER.length : i;
  };
  return [...ids].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export function pinnedHostKeys(t: ComputeTarget): string[] {
  return t.hostKeys ? t.hostKeys.split("\n").filter(Boolean) : [];
}

/** True when `blob` (a host key as the SSH client received it) is one of the pinned keys. */
export function hostKeyIsPinned(t: ComputeTarget, blob: Buffer): boolean {
  return pinnedHostKeys(t).some((line) => parsePublicKeyLine(line)?.blob.equals(blob) ?? false);
}

/** The pinned host key's type as ssh prints it ("ED25519"), or null when none is pinned. */
export function hostKeyTypeOf(t: ComputeTarget): string | null {
  const first = pinnedHostKeys(t)[0];
  const parsed = first ? parsePublicKeyLine(first) : null;
  return parsed ? keyTypeLabel(parsed.type) : null;
}
