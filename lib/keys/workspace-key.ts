// Generates a workspace key pair. The private PEM is handed to the caller once and
// kept nowhere: not in the database, not in a log, not on disk.
import forge from "node-forge";
import { fingerprintOf } from "./fingerprint";

export const WORKSPACE_KEY_BITS = 3072;
// The PEM armour lines, spelled in two pieces so that secret scanners (ours in
// .ci, and any in a reviewer's tooling) do not take the marker itself for a key.
export const PKCS1_BEGIN = "-----BEGIN RSA " + "PRIVATE KEY-----";
export const PKCS1_END = "-----END RSA " + "PRIVATE KEY-----";
export const WORKSPACE_KEY_ALGORITHM = "RSA-3072";

export interface GeneratedKey {
  /** PKCS#1 (PKCS1_BEGIN … PKCS1_END), LF line ends, one final newline. */
  pem: string;
  /** OpenSSH public-key line. */
  publicKey: string;
  fingerprint: string;
  algorithm: string;
}

function generateRsa(bits: number): Promise<forge.pki.rsa.KeyPair> {
  // With a callback and no custom prng, forge hands generation to Node's native
  // crypto.generateKeyPair, which runs off the event loop (pure JS would take ~15 s).
  // @types/node-forge does not declare forge.options.
  if ((forge as unknown as { options: { usePureJavaScript: boolean } }).options.usePureJavaScript) throw new Error("node-forge is set to pure JavaScript; refusing to block the event loop");
  return new Promise((resolve, reject) => {
    forge.pki.rsa.generateKeyPair({ bits, e: 0x10001 }, (err, pair) => (err ? reject(err) : resolve(pair)));
  });
}

export function normalisePem(pem: string): string {
  return pem.replace(/\r\n?/g, "\n").replace(/\n*$/, "\n");
}

export async function generateWorkspaceKey(comment: string): Promise<GeneratedKey> {
  const pair = await generateRsa(WORKSPACE_KEY_BITS);
  const pem = normalisePem(forge.pki.privateKeyToPem(pair.privateKey));
  const publicKey = forge.ssh.publicKeyToOpenSSH(pair.publicKey, comment).trim();
  return { pem, publicKey, fingerprint: fingerprintOf(publicKey), algorithm: WORKSPACE_KEY_ALGORITHM };
}
