/**
 * How an agent comes to trust the scheduler, given only --ca-cert-hash (kubeadm's discovery by CA pin).
 *
 * Design: trust first, credentials second. {@link fetchPinnedCa} opens a TLS connection that skips
 * the usual chain check, sends nothing at all, and checks the handshake by hand with
 * {@link checkPinnedServer}: the scheduler presents its certificate followed by its CA (see
 * serverTlsOptions), the CA's SubjectPublicKeyInfo must hash to the pin, and the server certificate
 * must be issued and signed by that CA, be current, and be valid for the host dialled. It then closes
 * and returns the CA certificate. Every real connection (wss with the bootstrap token, https) uses
 * that CA as its only trust root with Node's normal verification, and the agent can keep it on disk.
 *
 * Why not check the pin on the very connection that carries the token: Node flushes data written
 * during the handshake as soon as the handshake ends, before 'secureConnect' reaches JavaScript, so a
 * WebSocket upgrade request (and its token) would already be on its way to an impostor.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { CoreletError, failedPrecondition, unavailable } from '../lib/index.js';
import { parseCaCertHash, spkiHash } from './ca-hash.js';
import type { SchedulerAddress } from './server-url.js';
import { isNodeCertificate, nodePosingMessage } from './scheduler-identity.js';

const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1';

/** The certificates a peer presented, leaf first, in the order the issuer links give. */
export function peerChain(socket: tls.TLSSocket): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  let c: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  // A self-signed root is its own issuer: stop at the first repeat.
  while (c && c.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    out.push(new X509Certificate(c.raw));
    c = c.issuerCertificate;
  }
  return out;
}

function notCurrent(cert: X509Certificate, now: Date): string | undefined {
  if (Date.parse(cert.validFrom) > now.getTime()) return `is not valid before ${cert.validFrom}`;
  if (Date.parse(cert.validTo) < now.getTime()) return `expired on ${cert.validTo}`;
  return undefined;
}

/**
 * Checks the certificates a scheduler presented on socket (connected with rejectUnauthorized: false)
 * against the pinned CA hash, and returns the pinned CA certificate (PEM). Throws FailedPrecondition
 * with a message an operator can act on ("the scheduler's CA does not match --ca-cert-hash ...").
 * Only a CA that issued the server certificate directly is accepted (corelet's PKI has no intermediates).
 */
export function checkPinnedServer(socket: tls.TLSSocket, expectedHash: string, host: string, now: Date = new Date()): string {
  const pin = parseCaCertHash(expectedHash);
  const chain = peerChain(socket);
  const leaf = chain[0];
  if (!leaf) throw failedPrecondition(`the scheduler at ${host} presented no certificate`);
  const ca = chain.find((c) => c !== leaf && spkiHash(c) === pin);
  if (!ca) {
    if (spkiHash(leaf) === pin) {
      throw failedPrecondition(`--ca-cert-hash ${pin} pins the scheduler's own server certificate, not its CA: use the hash printed by "corelet scheduler init"`);
    }
    // Node exposes only the certificates that chain up from the leaf, so "none" also covers a CA
    // that was sent but did not issue the server certificate.
    const presented = chain.length > 1 ? `CA ${chain.slice(1).map(spkiHash).join(', ')}` : 'no CA certificate that issued its server certificate';
    throw failedPrecondition(
      `the scheduler's CA does not match --ca-cert-hash ${pin}: it presented ${presented}. ` +
        'Check the hash printed by "corelet scheduler init" (or the connection is being intercepted)',
    );
  }
  if (!ca.ca) throw failedPrecondition(`the certificate matching --ca-cert-hash ${pin} is not a CA certificate`);
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) {
    throw failedPrecondition(`the scheduler's server certificate (${leaf.subject.replace(/\n/g, ', ')}) is not signed by the CA matching --ca-cert-hash ${pin}`);
  }
  for (const [what, cert] of [['CA', ca], ['server', leaf]] as const) {
    const why = notCurrent(cert, now);
    if (why) throw failedPrecondition(`the scheduler's ${what} certificate ${why}`);
  }
  // Nodes' certificates come from the same CA (with serverAuth): one of them is not the scheduler.
  if (isNodeCertificate(leaf)) throw failedPrecondition(nodePosingMessage(host, leaf.subject.replace(/\n/g, ', ')));
  if (leaf.keyUsage && !leaf.keyUsage.includes(SERVER_AUTH_OID)) {
    throw failedPrecondition("the scheduler's certificate is not for TLS servers (no serverAuth usage)");
  }
  const bare = host.replace(/^\[|\]$/g, '');
  const matches = isIP(bare) ? leaf.checkIP(bare) : leaf.checkHost(bare);
  if (matches === undefined) {
    throw failedPrecondition(
      `the scheduler's certificate is not valid for ${bare} (it names ${leaf.subjectAltName ?? 'nothing'}): ` +
        'connect by one of those names, or re-run "corelet scheduler init" with this name or address',
    );
  }
  return ca.toString();
}

/**
 * Connects to the scheduler, checks its certificates against the pin with {@link checkPinnedServer},
 * closes without having sent any data, and returns the CA certificate (PEM) to trust from then on.
 * Throws FailedPrecondition on a pin mismatch and Unavailable when the scheduler cannot be reached.
 */
export async function fetchPinnedCa(
  address: SchedulerAddress,
  expectedHash: string,
  options: { timeoutMs?: number; now?: Date } = {},
): Promise<string> {
  const pin = parseCaCertHash(expectedHash);
  const where = `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: address.host,
      port: address.port,
      servername: isIP(address.host) ? undefined : address.host,
      // Verified by hand below, against the pin instead of the system's CAs.
      rejectUnauthorized: false,
    });
    let done = false;
    const finish = (err: Error | undefined, ca?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(ca as string);
    };
    const timer = setTimeout(
      () => finish(unavailable(`no TLS handshake with the scheduler at ${where} within ${options.timeoutMs ?? 10_000} ms`)),
      options.timeoutMs ?? 10_000,
    );
    socket.once('secureConnect', () => {
      try {
        finish(undefined, checkPinnedServer(socket, pin, address.host, options.now));
      } catch (err) {
        finish(err instanceof CoreletError ? err : failedPrecondition(`checking the scheduler's certificate: ${String(err)}`, err));
      }
    });
    socket.once('error', (err) => finish(unavailable(`cannot reach the scheduler at ${where}: ${err.message}`, err)));
  });
}
