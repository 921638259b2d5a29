/**
 * The scheduler's own client certificate (CN system:corelet-scheduler, O system:masters), for the
 * agents' HTTPS ports: an agent lets it read everything, as a kubelet trusts the API server's
 * kubelet-client certificate. Kept in the PKI directory next to the CA; reissued at start when
 * missing or within 30 days of expiry.
 */
import { X509Certificate, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/index.js';
import { MASTERS_GROUP, newRsaKeyPair, SCHEDULER_USER } from '../../join/index.js';
import { issueCertificate, type CertKeyPair } from './pki.js';

export const SCHEDULER_CLIENT_FILES = { cert: 'scheduler-client.crt', key: 'scheduler-client.key' } as const;
const YEAR_SECONDS = 365 * 24 * 60 * 60;
const RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;

/** Loads or (re)issues the scheduler's client certificate in dir; returns it. */
export async function ensureSchedulerClientCert(dir: string, ca: CertKeyPair, now: Date = new Date()): Promise<CertKeyPair> {
  const certFile = join(dir, SCHEDULER_CLIENT_FILES.cert);
  const keyFile = join(dir, SCHEDULER_CLIENT_FILES.key);
  const [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8').catch(() => undefined), readFile(keyFile, 'utf8').catch(() => undefined)]);
  if (certPem && keyPem) {
    try {
      const cert = new X509Certificate(certPem);
      const fresh = Date.parse(cert.validTo) - now.getTime() > RENEW_BEFORE_MS;
      if (fresh && cert.verify(new X509Certificate(ca.certPem).publicKey) && cert.publicKey.export({ type: 'spki', format: 'pem' }) === createPublicKey(keyPem).export({ type: 'spki', format: 'pem' })) {
        return { certPem, keyPem };
      }
    } catch {
      // unreadable: issue a new one below
    }
  }
  const { privateKeyPem: privateKey, publicKeyPem: publicKey } = await newRsaKeyPair();
  const issued = issueCertificate(ca, { publicKeyPem: publicKey, commonName: SCHEDULER_USER, organizations: [MASTERS_GROUP], usages: ['clientAuth'], validitySeconds: YEAR_SECONDS, now });
  await writeFileAtomic(keyFile, privateKey, 0o600);
  await writeFileAtomic(certFile, issued.certPem, 0o644);
  return { certPem: issued.certPem, keyPem: privateKey };
}
