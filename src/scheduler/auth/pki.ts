/**
 * The scheduler's small PKI: one self-signed CA (10 years) and one server certificate signed by it,
 * as PEM files in a directory (kubeadm's names: ca.crt, ca.key, server.crt, server.key).
 *
 * Node's crypto makes the keys (RSA 2048, native and fast), signs and checks certificates, but cannot
 * build an X.509 certificate; node-forge (no dependencies) encodes it (native-sign.ts).
 */
import { X509Certificate, createHash, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import forge from 'node-forge';
import { errnoCode, failedPrecondition, invalidArgument, writeFileAtomic } from '../../lib/index.js';
import { caCertHash, newRsaKeyPair, signCertificateNatively } from '../../join/index.js';

/** File names inside the PKI directory. */
export const PKI_FILES = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  serverCert: 'server.crt',
  serverKey: 'server.key',
} as const;

const DAY_MS = 24 * 60 * 60 * 1000;
/** The CA lives as long as kubeadm's: 10 years. */
export const CA_VALIDITY_DAYS = 3650;
/** Server certificates live a year, as kubeadm's do; {@link ensurePki} renews them. */
export const SERVER_VALIDITY_DAYS = 365;
/** {@link ensurePki} reissues the server certificate when it has fewer days than this left. */
export const SERVER_RENEW_BEFORE_DAYS = 30;

/** A certificate and its private key, both PEM. */
export interface CertKeyPair {
  certPem: string;
  keyPem: string;
}

/** The scheduler's CA and server certificate. */
export interface Pki {
  ca: CertKeyPair;
  server: CertKeyPair;
}

/** What names the server certificate is valid for. */
export interface ServerCertOptions {
  /** DNS names (SANs); "localhost" is always added. */
  dnsNames?: string[];
  /** IP addresses (SANs); "127.0.0.1" is always added. */
  ips?: string[];
  /** Subject CN; "corelet-scheduler" by default. */
  commonName?: string;
  /** Certificate lifetime; {@link SERVER_VALIDITY_DAYS} by default. */
  validityDays?: number;
  /** Certificate lifetime in seconds (at least {@link MIN_SERVING_CERT_TTL_SECONDS}); wins over validityDays. */
  validitySeconds?: number;
  /** The clock, for tests. */
  now?: Date;
}

/** Options for a new CA. */
export interface CaOptions {
  /** Subject CN; "corelet-ca" by default. */
  commonName?: string;
  validityDays?: number;
  now?: Date;
}

/** A new RSA 2048 key pair (rsa-keys.ts): the private key PEM, the public key for forge. */
async function newKeyPair(): Promise<{ keyPem: string; publicKey: forge.pki.PublicKey }> {
  const { privateKeyPem, publicKeyPem } = await newRsaKeyPair();
  return { keyPem: privateKeyPem, publicKey: forge.pki.publicKeyFromPem(publicKeyPem) };
}

/** A random positive 128-bit serial (RFC 5280 wants unique, non-negative, at most 20 octets). */
function newSerial(): string {
  const b = randomBytes(16);
  b[0] &= 0x7f; // keep the DER INTEGER positive
  b[0] |= 0x01; // and its leading byte non-zero, so the encoding is exactly 16 bytes
  return b.toString('hex');
}

function validity(cert: forge.pki.Certificate, now: Date, days: number, seconds = days * 86_400): void {
  // Backdate a little so a peer whose clock is slightly behind does not see "not yet valid": 5 minutes,
  // but at most a tenth of a short lifetime, so its renewal point (70–80% of it) stays ahead.
  cert.validity.notBefore = new Date(now.getTime() - Math.min(5 * 60, Math.floor(seconds / 10)) * 1000);
  cert.validity.notAfter = new Date(now.getTime() + seconds * 1000);
}

/** The shortest serving-certificate lifetime accepted (tests and soaks use seconds to minutes). */
export const MIN_SERVING_CERT_TTL_SECONDS = 10;

/** The lifetime in seconds a {@link ServerCertOptions} asks for. */
export function servingLifetimeSeconds(options: Pick<ServerCertOptions, 'validityDays' | 'validitySeconds'>): number {
  const seconds = options.validitySeconds ?? (options.validityDays ?? SERVER_VALIDITY_DAYS) * 86_400;
  if (!Number.isInteger(seconds) || seconds < MIN_SERVING_CERT_TTL_SECONDS) {
    throw invalidArgument(`serving certificate lifetime must be a whole number of seconds, at least ${MIN_SERVING_CERT_TTL_SECONDS}; got ${seconds}`);
  }
  return seconds;
}

/** forge writes PEM with CRLF line ends; Node and openssl write LF, so keep files uniform. */
function toPem(cert: forge.pki.Certificate): string {
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

/** Creates a self-signed CA certificate and key. */
export async function createCa(options: CaOptions = {}): Promise<CertKeyPair> {
  const keys = await newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = newSerial();
  validity(cert, options.now ?? new Date(), options.validityDays ?? CA_VALIDITY_DAYS);
  const subject = [{ name: 'commonName', value: options.commonName ?? 'corelet-ca' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signCertificateNatively(cert, keys.keyPem);
  return { certPem: toPem(cert), keyPem: keys.keyPem };
}

/**
 * The SAN lists a server certificate gets: the given names plus (withLocal, only for the scheduler's
 * own certificate) localhost and 127.0.0.1, deduplicated.
 */
export function serverSans(options: Pick<ServerCertOptions, 'dnsNames' | 'ips'>, withLocal = true): { dnsNames: string[]; ips: string[] } {
  const dnsNames = [...new Set([...(withLocal ? ['localhost'] : []), ...(options.dnsNames ?? [])].map((n) => n.toLowerCase()))];
  const ips = [...new Set([...(withLocal ? ['127.0.0.1'] : []), ...(options.ips ?? [])])];
  for (const n of dnsNames) {
    if (!/^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n)) {
      throw invalidArgument(`server certificate: invalid DNS name ${JSON.stringify(n)}`);
    }
  }
  for (const ip of ips) {
    if (isIP(ip) === 0) throw invalidArgument(`server certificate: invalid IP address ${JSON.stringify(ip)}`);
  }
  return { dnsNames, ips };
}

/** Creates a server certificate (serverAuth) signed by ca, valid for the SANs of {@link serverSans}. */
export async function createServerCert(ca: CertKeyPair, options: ServerCertOptions = {}): Promise<CertKeyPair> {
  const { dnsNames, ips } = serverSans(options);
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const keys = await newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = newSerial();
  validity(cert, options.now ?? new Date(), 0, servingLifetimeSeconds(options));
  cert.setSubject([{ name: 'commonName', value: options.commonName ?? 'corelet-scheduler' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectKeyIdentifier' },
    // Points at the CA's key, so chain builders pick the right issuer after a CA rotation.
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
    {
      name: 'subjectAltName',
      // GeneralName types: 2 = dNSName, 7 = iPAddress.
      altNames: [...dnsNames.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))],
    },
  ]);
  signCertificateNatively(cert, ca.keyPem);
  return { certPem: toPem(cert), keyPem: keys.keyPem };
}

/** What a certificate issued by {@link issueCertificate} names and may be used for. */
export interface IssueOptions {
  /** The holder's public key (PEM, SPKI): from a CSR or a key pair the holder made. */
  publicKeyPem: string;
  /** Subject CN: the user name ("system:node:node1", "alice"). */
  commonName: string;
  /** Subject O attributes: the groups ("system:nodes"). */
  organizations?: string[];
  /** clientAuth for API clients and nodes, serverAuth for servers (a node's HTTPS port), or both. */
  usages: ('clientAuth' | 'serverAuth')[];
  /** Lifetime in seconds (at least 60). */
  validitySeconds: number;
  /** SANs for serverAuth certificates. */
  dnsNames?: string[];
  ips?: string[];
  now?: Date;
  /** The serial (hex); a new random one by default. Tests forge certificates with a known serial. */
  serial?: string;
}

/** A CA parsed once for signing: node certificates are signed by the thousand when nodes join. */
interface CaSigner {
  subject: forge.pki.CertificateField[];
  keyIdentifier: string;
  key: KeyObject;
}

const signers = new Map<string, CaSigner>();

function caSigner(ca: CertKeyPair): CaSigner {
  const cacheKey = createHash('sha256').update(ca.certPem).update(ca.keyPem).digest('hex');
  let signer = signers.get(cacheKey);
  if (!signer) {
    const caCert = forge.pki.certificateFromPem(ca.certPem);
    signer = { subject: caCert.subject.attributes, keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes(), key: createPrivateKey(ca.keyPem) };
    if (signers.size > 16) signers.clear();
    signers.set(cacheKey, signer);
  }
  return signer;
}

/**
 * Signs a certificate for someone else's public key with the CA: node client certificates, users'
 * client certificates, a node's serving certificate. Returns the certificate PEM and its serial (hex).
 */
export function issueCertificate(ca: CertKeyPair, options: IssueOptions): { certPem: string; serial: string } {
  if (!Number.isInteger(options.validitySeconds) || options.validitySeconds < 60) {
    throw invalidArgument(`certificate lifetime must be a whole number of seconds, at least 60; got ${options.validitySeconds}`);
  }
  if (options.usages.length === 0) throw invalidArgument('a certificate needs at least one usage (clientAuth, serverAuth)');
  let publicKey: forge.pki.PublicKey;
  try {
    publicKey = forge.pki.publicKeyFromPem(options.publicKeyPem);
  } catch (err) {
    throw invalidArgument('the public key is not a PEM RSA public key', err);
  }
  const signer = caSigner(ca);
  const now = options.now ?? new Date();
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = options.serial ?? newSerial();
  // Backdated for peers whose clock is a little behind: 5 minutes, but at most a tenth of the
  // lifetime, so a short-lived certificate's renewal point (70–90% of notBefore..notAfter) stays ahead.
  cert.validity.notBefore = new Date(now.getTime() - Math.min(5 * 60, Math.floor(options.validitySeconds / 10)) * 1000);
  cert.validity.notAfter = new Date(now.getTime() + options.validitySeconds * 1000);
  cert.setSubject([
    ...(options.organizations ?? []).map((value) => ({ name: 'organizationName', value })),
    { name: 'commonName', value: options.commonName },
  ]);
  cert.setIssuer(signer.subject);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: options.usages.includes('clientAuth'), serverAuth: options.usages.includes('serverAuth') },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: signer.keyIdentifier },
  ];
  if (options.usages.includes('serverAuth')) {
    // Only what was asked for: localhost/127.0.0.1 belong to the scheduler's own certificate.
    const { dnsNames, ips } = serverSans(options, false);
    if (dnsNames.length + ips.length > 0) extensions.push({ name: 'subjectAltName', altNames: [...dnsNames.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))] });
  }
  cert.setExtensions(extensions);
  signCertificateNatively(cert, signer.key);
  return { certPem: toPem(cert), serial: cert.serialNumber };
}

/**
 * TLS options for the scheduler's HTTPS/WSS server: its key, and its certificate followed by the CA
 * certificate, so a joining agent receives the CA in the handshake and can check it against its pin;
 * client certificates issued by the CA are requested (see identity.ts).
 */
export function serverTlsOptions(pki: Pki): { key: string; cert: string; ca: string; requestCert: true; rejectUnauthorized: false } {
  return {
    key: pki.server.keyPem,
    cert: `${pki.server.certPem.trimEnd()}\n${pki.ca.certPem.trimEnd()}\n`,
    // Client certificates of the cluster CA are asked for, not required: token clients and joining
    // agents connect without one; certificateUser() reads `socket.authorized`.
    ca: pki.ca.certPem,
    requestCert: true,
    rejectUnauthorized: false,
  };
}

/** Writes the PKI into dir (created 0700): certificates 0644, keys 0600, each atomically. */
export async function writePki(dir: string, pki: Pki): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(dir, PKI_FILES.caCert), pki.ca.certPem, 0o644);
  await writeFileAtomic(join(dir, PKI_FILES.caKey), pki.ca.keyPem, 0o600);
  await writeFileAtomic(join(dir, PKI_FILES.serverCert), pki.server.certPem, 0o644);
  await writeFileAtomic(join(dir, PKI_FILES.serverKey), pki.server.keyPem, 0o600);
}

async function readPem(dir: string, name: string): Promise<string | undefined> {
  try {
    return await readFile(join(dir, name), 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Loads the PKI written by {@link writePki} and checks that it hangs together: each key matches its
 * certificate and the server certificate is signed by the CA. Throws FailedPrecondition when a file
 * is missing ("run corelet scheduler init") or the set is inconsistent.
 */
export async function loadPki(dir: string): Promise<Pki> {
  const files = await Promise.all(Object.values(PKI_FILES).map((name) => readPem(dir, name)));
  const missing = Object.values(PKI_FILES).filter((_, i) => files[i] === undefined);
  if (missing.length > 0) {
    throw failedPrecondition(`scheduler PKI in ${dir} is incomplete (missing ${missing.join(', ')}): run "corelet scheduler init"`);
  }
  const [caCert, caKey, serverCert, serverKey] = files as string[];
  const pki: Pki = { ca: { certPem: caCert, keyPem: caKey }, server: { certPem: serverCert, keyPem: serverKey } };
  checkPki(pki, dir);
  return pki;
}

function checkPki(pki: Pki, where: string): { ca: X509Certificate; server: X509Certificate } {
  let ca: X509Certificate;
  let server: X509Certificate;
  try {
    ca = new X509Certificate(pki.ca.certPem);
    server = new X509Certificate(pki.server.certPem);
  } catch (err) {
    throw failedPrecondition(`scheduler PKI in ${where}: unreadable certificate`, err);
  }
  if (!ca.ca) throw failedPrecondition(`scheduler PKI in ${where}: ${PKI_FILES.caCert} is not a CA certificate`);
  if (!ca.checkPrivateKey(keyObject(pki.ca.keyPem, where, PKI_FILES.caKey))) {
    throw failedPrecondition(`scheduler PKI in ${where}: ${PKI_FILES.caKey} does not match ${PKI_FILES.caCert}`);
  }
  if (!server.checkPrivateKey(keyObject(pki.server.keyPem, where, PKI_FILES.serverKey))) {
    throw failedPrecondition(`scheduler PKI in ${where}: ${PKI_FILES.serverKey} does not match ${PKI_FILES.serverCert}`);
  }
  if (!server.checkIssued(ca) || !server.verify(ca.publicKey)) {
    throw failedPrecondition(`scheduler PKI in ${where}: ${PKI_FILES.serverCert} is not signed by ${PKI_FILES.caCert}`);
  }
  return { ca, server };
}

function keyObject(pem: string, where: string, name: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw failedPrecondition(`scheduler PKI in ${where}: ${name} is not a PEM private key`, err);
  }
}

/** What {@link ensurePki} did. */
export interface EnsurePkiResult {
  pki: Pki;
  /** A new CA was made (there was none): every agent needs the new --ca-cert-hash. */
  createdCa: boolean;
  /** A new server certificate was issued (none, near expiry, or missing a requested name). */
  issuedServer: boolean;
  /** "sha256:..." of the CA, for the join command. */
  caCertHash: string;
}

/**
 * Loads the PKI in dir, creating what is missing: a CA when there is none, and a server certificate
 * when there is none, it expires within {@link SERVER_RENEW_BEFORE_DAYS}, or it lacks a requested SAN.
 * An existing CA is never replaced (that would break every joined agent's pin).
 */
export async function ensurePki(dir: string, options: ServerCertOptions = {}): Promise<EnsurePkiResult> {
  const now = options.now ?? new Date();
  const [caCert, caKey] = await Promise.all([readPem(dir, PKI_FILES.caCert), readPem(dir, PKI_FILES.caKey)]);
  if ((caCert === undefined) !== (caKey === undefined)) {
    throw failedPrecondition(`scheduler PKI in ${dir}: found only one of ${PKI_FILES.caCert} and ${PKI_FILES.caKey}; restore the other or remove both`);
  }
  const createdCa = caCert === undefined;
  const ca = createdCa ? await createCa({ now }) : { certPem: caCert, keyPem: caKey as string };
  let server: CertKeyPair | undefined;
  if (!createdCa) {
    const [certPem, keyPem] = await Promise.all([readPem(dir, PKI_FILES.serverCert), readPem(dir, PKI_FILES.serverKey)]);
    // A key without its certificate (a renewal cut short between its two writes, serving-cert.ts) is
    // no reason to refuse to start: the server pair is reissued from the CA.
    if (certPem !== undefined && keyPem !== undefined && serverPairMatches(certPem, keyPem)) {
      const candidate = { certPem, keyPem };
      const { server: cert } = checkPki({ ca, server: candidate }, dir);
      if (serverCertFits(cert, options, now)) server = candidate;
    }
  }
  const issuedServer = server === undefined;
  server ??= await createServerCert(ca, { ...options, now });
  const pki = { ca, server };
  if (createdCa || issuedServer) await writePki(dir, pki);
  return { pki, createdCa, issuedServer, caCertHash: caCertHash(ca.certPem) };
}

/** True when keyPem is the private key of certPem (both readable). */
function serverPairMatches(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/**
 * True when cert is valid for long enough, not for longer than the configured lifetime (a lowered
 * --serving-cert-ttl takes effect at start), and names every requested SAN.
 */
function serverCertFits(cert: X509Certificate, options: ServerCertOptions, now: Date): boolean {
  const lifetimeMs = servingLifetimeSeconds(options) * 1000;
  const left = new Date(cert.validTo).getTime() - now.getTime();
  if (left < Math.min(SERVER_RENEW_BEFORE_DAYS * DAY_MS, lifetimeMs * 0.25)) return false;
  if (options.validitySeconds !== undefined && left > lifetimeMs + 60_000) return false;
  const { dnsNames, ips } = serverSans(options);
  return dnsNames.every((n) => cert.checkHost(n, { wildcards: false }) !== undefined) && ips.every((ip) => cert.checkIP(ip) !== undefined);
}
