/**
 * The CA pin a joining agent is given (kubeadm's --discovery-token-ca-cert-hash): computed by the
 * control plane when it prints the join command, checked by the agent against the CA the scheduler
 * presents.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { invalidArgument } from '../lib/index.js';

/**
 * kubeadm's --discovery-token-ca-cert-hash of a CA certificate: "sha256:" + the hex SHA-256 of its
 * SubjectPublicKeyInfo (DER). It pins the CA's key, so it survives re-signing the CA with the same key.
 */
export function caCertHash(certPem: string): string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw invalidArgument('not a PEM certificate', err);
  }
  return spkiHash(cert);
}

/** "sha256:<hex>" of a certificate's SubjectPublicKeyInfo. */
export function spkiHash(cert: X509Certificate): string {
  const der = cert.publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

/**
 * Checks a --ca-cert-hash value ("sha256:" + 64 hex digits, case-insensitive) and returns it in
 * lower case. Throws InvalidArgument saying what the format is.
 */
export function parseCaCertHash(value: string): string {
  const v = value.trim().toLowerCase();
  if (!/^sha256:[0-9a-f]{64}$/.test(v)) {
    throw invalidArgument(
      `invalid --ca-cert-hash ${JSON.stringify(value)}: expected "sha256:" followed by 64 hex digits (printed by "corelet scheduler init")`,
    );
  }
  return v;
}
