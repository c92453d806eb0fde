// What a target's name, host and port may be. Everything that ends up in the ssh
// command shown to people is checked here, so that command is always safe to paste.
import net from "node:net";
import { z } from "zod";
import { nameField } from "@/lib/http/names";
import { keyIdentity } from "@/lib/keys/fingerprint";
import { isPasteSafeHost } from "./ssh-command";

const HOSTNAME_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

export function isValidHost(host: string): boolean {
  // net.isIP accepts IPv6 zone ids ("fe80::1%eth0"): a zone names an interface of
  // *this* machine, never a public address, and the ssh command refuses `%`: stored,
  // such a host would break every later listing of the workspace.
  if (!isPasteSafeHost(host)) return false;
  if (net.isIP(host)) return true;
  if (host.length > 253 || host.endsWith(".")) return false;
  const labels = host.split(".");
  // An all-numeric dotted name that is not an IPv4 address (e.g. 999.1.1.1) is a typo, not a host.
  if (labels.every((l) => /^\d+$/.test(l))) return false;
  return labels.every((l) => HOSTNAME_LABEL.test(l));
}

export const targetName = nameField(64)
  // Narrower than the shared rule: the name ends up in the ssh command people paste.
  .regex(/^[\x20-\x7e]+$/, "name must be printable ASCII characters");

export const targetHost = z.string().trim().refine(isValidHost, "host must be a hostname or an IP address");

export const targetPort = z.number().int("port must be an integer").min(1, "port must be 1-65535").max(65535, "port must be 1-65535");

export const registerTargetBody = z.strictObject({
  name: targetName,
  host: targetHost,
  port: targetPort.optional(),
});

const bootId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, "bootId must be letters, digits and . _ : -");

export const bootReportBody = z.strictObject({
  bootId,
  port: targetPort,
  hostKeys: z
    .array(z.string().max(16 * 1024))
    .min(1, "at least one host key")
    .max(16)
    .refine((lines) => lines.every((l) => keyIdentity(l) !== null), "each entry must be an OpenSSH public-key line"),
});

export const bootRefBody = z.strictObject({ bootId });
