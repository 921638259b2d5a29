/**
 * Renewal of the scheduler's serving certificate while it runs (kubeadm renews it only on upgrade;
 * a scheduler up for a year would otherwise serve an expired certificate). At a random point between
 * 70% and 80% of the certificate's lifetime a new key and certificate are issued from the cluster CA
 * with the same names, written to DIR/pki (server.crt/server.key, atomically) and handed to the
 * running TLS server (`setSecureContext`): new handshakes get the new certificate, connections already
 * open (agents' WSS sessions, watches) keep theirs. A failed renewal is retried with backoff.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, type Logger, messageOf } from '../../lib/index.js';
import { createServerCert, PKI_FILES, type CertKeyPair } from './pki.js';

/**
 * The longest single timer link. Timers run on the monotonic clock, which stands still while a VM is
 * suspended and ignores NTP steps; the renewal time is wall-clock. So the wait is slept in links of
 * at most this long, each re-reading the wall clock: a jump past the renewal time renews within 60 s.
 */
const MAX_TIMER_LINK_MS = 60_000;

/** The DNS names and IP addresses of a certificate's subjectAltName. */
export function certificateSans(certPem: string): { dnsNames: string[]; ips: string[] } {
  const san = new X509Certificate(certPem).subjectAltName ?? '';
  const dnsNames: string[] = [];
  const ips: string[] = [];
  for (const part of san.split(/,\s*/)) {
    if (part.startsWith('DNS:')) dnsNames.push(part.slice(4));
    else if (part.startsWith('IP Address:')) ips.push(part.slice(11));
  }
  return { dnsNames, ips };
}

/**
 * The names of the serving certificate in pkiDir (none when there is none), so a certificate
 * reissued at start (expired, or a lowered lifetime) keeps the names `scheduler init --host` gave it.
 */
export async function servingSansOnDisk(pkiDir: string): Promise<{ dnsNames?: string[]; ips?: string[] }> {
  try {
    return certificateSans(await readFile(join(pkiDir, PKI_FILES.serverCert), 'utf8'));
  } catch {
    return {}; // none yet, or unreadable: ensurePki reports the latter
  }
}

/**
 * When a serving certificate should be renewed: a random point between 70% and 80% of its lifetime
 * (notBefore..notAfter), as epoch milliseconds.
 */
export function servingRenewalTime(certPem: string, random: () => number = Math.random): number {
  const cert = new X509Certificate(certPem);
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return from + (to - from) * (0.7 + 0.1 * random());
}

/** Options of {@link startServingCertRenewal}. */
export interface ServingCertRenewalOptions {
  /** The PKI directory (server.crt and server.key are rewritten there). */
  pkiDir: string;
  ca: CertKeyPair;
  /** The certificate being served now. */
  current: CertKeyPair;
  /** Lifetime of each new certificate, in seconds. */
  ttlSeconds: number;
  /** Puts the new certificate into the TLS server. */
  apply: (server: CertKeyPair) => void;
  logger: Logger;
  random?: () => number;
  /** The wall clock, epoch ms (tests; default Date.now). */
  now?: () => number;
  /** Starts a timer, returning its cancel (tests; default an unref'd setTimeout). */
  setTimer?: (fn: () => void, ms: number) => () => void;
}

/** A running renewal; stop() ends it. */
export interface ServingCertRenewal {
  /** The certificate served now. */
  current(): CertKeyPair;
  /** Renews now (tests, and what the timer calls). */
  renew(): Promise<void>;
  stop(): void;
}

/** Starts renewing the serving certificate at 70–80% of each certificate's lifetime. */
export function startServingCertRenewal(opts: ServingCertRenewalOptions): ServingCertRenewal {
  let current = opts.current;
  let cancel: (() => void) | undefined;
  let stopped = false;
  let failures = 0;
  const now = opts.now ?? Date.now;
  const setTimer =
    opts.setTimer ??
    ((fn: () => void, ms: number) => {
      const timer = setTimeout(fn, ms);
      timer.unref();
      return () => clearTimeout(timer);
    });

  const schedule = (at: number): void => {
    if (stopped) return;
    cancel?.();
    const delay = Math.max(0, at - now());
    // Slept in links of at most 60 s, each re-checking the wall clock (see MAX_TIMER_LINK_MS).
    cancel = setTimer(() => (now() >= at ? void renew() : schedule(at)), Math.min(delay, MAX_TIMER_LINK_MS));
  };

  const renew = async (): Promise<void> => {
    if (stopped) return;
    try {
      const next = await createServerCert(opts.ca, { ...certificateSans(current.certPem), validitySeconds: opts.ttlSeconds });
      if (stopped) return;
      // The key first: a crash between the two writes leaves a pair that loadPki refuses, and
      // ensurePki (at the next start) issues a fresh one.
      await writeFileAtomic(join(opts.pkiDir, PKI_FILES.serverKey), next.keyPem, 0o600);
      await writeFileAtomic(join(opts.pkiDir, PKI_FILES.serverCert), next.certPem, 0o644);
      opts.apply(next);
      const before = new X509Certificate(current.certPem).serialNumber;
      current = next;
      failures = 0;
      const cert = new X509Certificate(next.certPem);
      opts.logger.info({ previousSerial: before, serial: cert.serialNumber, expires: new Date(cert.validTo).toISOString() }, 'serving certificate renewed');
      schedule(servingRenewalTime(next.certPem, opts.random));
    } catch (err) {
      failures++;
      const left = Date.parse(new X509Certificate(current.certPem).validTo) - now();
      const delay = Math.max(1000, Math.min(5000 * 2 ** (failures - 1), 300_000, left > 2000 ? left / 2 : 1000));
      opts.logger.error({ err: messageOf(err), retryInSeconds: Math.round(delay / 1000) }, 'serving certificate renewal failed');
      schedule(now() + delay);
    }
  };

  const at = servingRenewalTime(current.certPem, opts.random);
  const cert = new X509Certificate(current.certPem);
  opts.logger.info({ serial: cert.serialNumber, expires: new Date(cert.validTo).toISOString(), renewAt: new Date(at).toISOString() }, 'serving certificate renewal scheduled');
  schedule(at);
  return {
    current: () => current,
    renew,
    stop() {
      stopped = true;
      cancel?.();
    },
  };
}
