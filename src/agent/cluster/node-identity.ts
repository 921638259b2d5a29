/**
 * The node's identity, as the kubelet's TLS bootstrap and certificate rotation make it:
 *
 * - Bootstrap (once): the bootstrap token is read from a 0600 file (--token-file), the scheduler's CA
 *   is pinned by --ca-cert-hash (fetchPinnedCa), a new RSA key signs a PKCS#10 request for
 *   CN=system:node:<name>, O=system:nodes (SANs: the node's name and IP, for its HTTPS port), and the
 *   scheduler answers with the certificate. Key, certificate and CA go to ROOT/pki (0700, files 0600).
 * - From then on the agent authenticates with that certificate only; the token is not needed.
 * - Rotation: at a jittered 70–90% of the certificate's lifetime, a new key and request are sent with
 *   the current certificate; the new credentials replace the old on disk and in the agent's
 *   connections ({@link CertificateRotator}).
 * The token never appears in argv, logs or error messages: only its id does.
 */
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdir, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import https from 'node:https';
import { isIP } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type forgeModule from 'node-forge';
import { clearLongTimeout, errnoCode, failedPrecondition, invalidArgument, isKind, setLongTimeout, unavailable, writeFileAtomic, type LongTimeout, type Logger, messageOf } from '../../lib/index.js';
import { caCertHash, checkSchedulerIdentity, fetchPinnedCa, NODE_USER_PREFIX, NODES_GROUP, parseServerUrl, newRsaKeyPair, parseToken, signCsrNatively, type SchedulerAddress } from '../../join/index.js';

/**
 * node-forge (2 MiB of heap), loaded when a request is made or read: an agent joined to a cluster
 * needs it at bootstrap and at each rotation, a standalone agent never.
 */
let forgeLoaded: typeof forgeModule | undefined;
const forge = (): typeof forgeModule => (forgeLoaded ??= createRequire(import.meta.url)('node-forge') as typeof forgeModule);

/** Where the credentials live under the agent's --root. */
export const NODE_PKI_DIR = 'pki';
export const NODE_PKI_FILES = { key: 'node.key', cert: 'node.crt', ca: 'ca.crt', pending: 'node-pending.json' } as const;
export const CSR_PATH = '/apis/certificates.k8s.io/v1/certificatesigningrequests';
export const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';

/** The node's key, its certificate (client and serving) and the cluster CA, all PEM. */
export interface NodeCredentials {
  keyPem: string;
  certPem: string;
  caPem: string;
  /** Received but not stored (the disk refused them): used from memory; {@link CertificateRotator} retries the save. */
  unsaved?: boolean;
}

/**
 * Reads a bootstrap token file: refused when group or others may read it (as ssh refuses a private
 * key), or when it does not hold one token. Messages name the file, never its content.
 */
export async function readTokenFile(path: string): Promise<string> {
  // One open: the mode and owner checked are those of the file read (no swap between stat and read).
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw invalidArgument(`--token-file ${path} does not exist`);
    throw invalidArgument(`--token-file ${path}: ${messageOf(err)}`);
  }
  let token: string;
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw invalidArgument(`--token-file ${path} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      throw invalidArgument(
        `--token-file ${path} is readable by others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}): a bootstrap token must be readable only by its owner; run: chmod 600 ${path}`,
      );
    }
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) {
      throw invalidArgument(`--token-file ${path} belongs to uid ${st.uid}, not to this user (uid ${uid}): a bootstrap token file must be owned by the user running the agent`);
    }
    token = (await fh.readFile('utf8')).trim();
  } finally {
    await fh.close();
  }
  try {
    parseToken(token);
  } catch (err) {
    throw invalidArgument(`--token-file ${path} does not hold a bootstrap token: ${messageOf(err)}`);
  }
  return token;
}

/** The credentials stored under root, or undefined when the node has not joined yet. */
export async function loadNodeCredentials(root: string): Promise<NodeCredentials | undefined> {
  const dir = join(root, NODE_PKI_DIR);
  const read = (name: string) => readFile(join(dir, name), 'utf8').catch((err) => (errnoCode(err) === 'ENOENT' ? undefined : Promise.reject(err)));
  const [keyPem, certPem, caPem] = await Promise.all([read(NODE_PKI_FILES.key), read(NODE_PKI_FILES.cert), read(NODE_PKI_FILES.ca)]);
  if (keyPem === undefined || certPem === undefined || caPem === undefined) return undefined;
  return { keyPem, certPem, caPem };
}

/** Writes the credentials under root/pki (0700), each file 0600 and atomically; the key first. */
export async function saveNodeCredentials(root: string, creds: NodeCredentials): Promise<void> {
  const dir = join(root, NODE_PKI_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(dir, NODE_PKI_FILES.ca), creds.caPem, 0o600);
  // Key and certificate must match: a crash between the two writes leaves a pair that does not, and
  // the next start re-renews (the old certificate is still valid) rather than using them.
  await writeFileAtomic(join(dir, `${NODE_PKI_FILES.key}`), creds.keyPem, 0o600);
  await writeFileAtomic(join(dir, NODE_PKI_FILES.cert), creds.certPem, 0o600);
  // The request those credentials answered is done (see pendingNodeCsr).
  await rm(join(dir, NODE_PKI_FILES.pending), { force: true });
}

/**
 * The key and request of the certificate request under way, kept in ROOT/pki (0600) until the
 * certificate it gets is saved, as the kubelet keeps its bootstrap key in kubelet-client.key.tmp: an
 * agent that died (or restarted) after the scheduler signed, before the answer arrived, asks again
 * with the same key, and the scheduler signs a retry only for that key (the certificate it replaced
 * renews nothing else). A new one when there is none for this node; not kept when it cannot be
 * written (the request goes out all the same).
 */
export async function pendingNodeCsr(
  root: string,
  nodeName: string,
  sans: { dnsNames?: string[]; ips?: string[] },
  make: typeof makeNodeCsr = makeNodeCsr,
  logger?: Logger,
): Promise<{ keyPem: string; csrPem: string }> {
  const dir = join(root, NODE_PKI_DIR);
  const file = join(dir, NODE_PKI_FILES.pending);
  try {
    const kept = JSON.parse(await readFile(file, 'utf8')) as { keyPem?: unknown; csrPem?: unknown };
    if (typeof kept.keyPem === 'string' && typeof kept.csrPem === 'string') {
      const csr = forge().pki.certificationRequestFromPem(kept.csrPem);
      const cn = (csr.subject.attributes as { name?: string; value?: unknown }[]).find((a) => a.name === 'commonName')?.value;
      const spki = (pem: string) => createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString();
      const sameKey = spki(kept.keyPem) === spki(forge().pki.publicKeyToPem(csr.publicKey as forgeModule.pki.PublicKey));
      if (cn === `${NODE_USER_PREFIX}${nodeName}` && sameKey) return { keyPem: kept.keyPem, csrPem: kept.csrPem };
    }
  } catch {
    // none, or unreadable: a new one
  }
  const made = await make(nodeName, sans);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, JSON.stringify(made), 0o600);
  } catch (err) {
    logger?.warn({ err: messageOf(err) }, `cannot keep the pending certificate request in ${file}: a restart before its answer makes a new one`);
  }
  return made;
}

/** A new RSA 2048 key and a PKCS#10 request for the node, signed with it. */
export async function makeNodeCsr(nodeName: string, sans: { dnsNames?: string[]; ips?: string[] } = {}): Promise<{ keyPem: string; csrPem: string }> {
  const { privateKeyPem, publicKeyPem } = await newRsaKeyPair();
  const csr = forge().pki.createCertificationRequest();
  csr.publicKey = forge().pki.publicKeyFromPem(publicKeyPem);
  csr.setSubject([
    { name: 'organizationName', value: NODES_GROUP },
    { name: 'commonName', value: `${NODE_USER_PREFIX}${nodeName}` },
  ]);
  const altNames = [...(sans.dnsNames ?? []).map((value) => ({ type: 2, value })), ...(sans.ips ?? []).filter((ip) => isIP(ip) !== 0).map((ip) => ({ type: 7, ip }))];
  if (altNames.length > 0) csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames }] }]);
  signCsrNatively(csr, privateKeyPem);
  return { keyPem: privateKeyPem, csrPem: forge().pki.certificationRequestToPem(csr).replace(/\r\n/g, '\n') };
}

/** How a certificate request authenticates: the bootstrap token, or the node's current certificate. */
export type CsrAuth = { token: string } | { certPem: string; keyPem: string };

/** Sends a CSR to the scheduler over TLS trusting only caPem; returns the signed certificate (PEM). */
export async function requestNodeCertificate(address: SchedulerAddress, caPem: string, auth: CsrAuth, csrPem: string, timeoutMs = 30_000): Promise<string> {
  const body = JSON.stringify({
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { generateName: 'node-csr-' },
    spec: { request: Buffer.from(csrPem).toString('base64'), signerName: KUBELET_CLIENT_SIGNER, usages: ['digital signature', 'key encipherment', 'client auth', 'server auth'] },
  });
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if ('token' in auth) headers.authorization = `Bearer ${auth.token}`;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = https.request(
      `https://${host}:${address.port}${CSR_PATH}`,
      { method: 'POST', ca: caPem, checkServerIdentity: checkSchedulerIdentity, headers, timeout: timeoutMs, ...('certPem' in auth ? { cert: auth.certPem, key: auth.keyPem } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(unavailable(`cannot reach the scheduler at ${host}:${address.port} for a certificate: ${err.message}`, err)));
    req.end(body);
  });
  let parsed: { message?: string; status?: { certificate?: string } } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // reported below
  }
  if (status === 401 || status === 403 || status === 409) throw failedPrecondition(`the scheduler refused the node certificate (${status}): ${parsed.message ?? text}`);
  if (status !== 201 && status !== 200) throw unavailable(`certificate request failed (${status}): ${parsed.message ?? text.slice(0, 200)}`);
  const certB64 = parsed.status?.certificate;
  if (!certB64) throw unavailable('the scheduler answered the certificate request without status.certificate');
  return Buffer.from(certB64, 'base64').toString('utf8');
}

/** What {@link ensureNodeCredentials} needs. */
export interface NodeIdentityOptions {
  server: string;
  caCertHash: string;
  /** The 0600 file with the bootstrap token; needed only before the node has a certificate. */
  tokenFile?: string;
  nodeName: string;
  root: string;
  /** SANs for the node's HTTPS port (its name and InternalIP). */
  sans: { dnsNames?: string[]; ips?: string[] };
  logger: Logger;
  /** Ignore stored credentials (the scheduler refused them: the Node was deleted) and join again. */
  rejoin?: boolean;
  /** Stores new credentials (default {@link saveNodeCredentials}; tests fail it). */
  save?: (root: string, creds: NodeCredentials) => Promise<void>;
}

/**
 * Stores credentials the scheduler just signed; when that fails (a full or failing disk) they are
 * used from memory all the same, marked unsaved: the scheduler recorded them as the node's newest,
 * the old certificate renews nothing more.
 */
async function keep(opts: NodeIdentityOptions, creds: NodeCredentials): Promise<NodeCredentials> {
  try {
    await (opts.save ?? saveNodeCredentials)(opts.root, creds);
    return creds;
  } catch (err) {
    opts.logger.warn({ err: messageOf(err), serial: certificateValidity(creds.certPem).serial }, 'the node certificate could not be saved: using it from memory (the save is retried)');
    return { ...creds, unsaved: true };
  }
}

/** A certificate's validity period, serial (lower-case hex) and subject. */
export function certificateValidity(certPem: string): { notBefore: Date; notAfter: Date; serial: string; subject: string } {
  const c = new X509Certificate(certPem);
  return { notBefore: new Date(c.validFrom), notAfter: new Date(c.validTo), serial: c.serialNumber.toLowerCase(), subject: c.subject };
}

/**
 * The node's credentials: the stored ones when they are for this node, this cluster (CA matches
 * --ca-cert-hash) and still current; else new ones from a TLS bootstrap with the token file.
 */
export async function ensureNodeCredentials(opts: NodeIdentityOptions, now: Date = new Date()): Promise<NodeCredentials> {
  const stored = opts.rejoin ? undefined : await loadNodeCredentials(opts.root);
  let csr: { keyPem: string; csrPem: string } | undefined;
  const pin = opts.caCertHash;
  const pkiDir = join(opts.root, NODE_PKI_DIR);
  if (stored) {
    if (caCertHash(stored.caPem) !== pin.toLowerCase()) {
      throw failedPrecondition(`${pkiDir} holds a certificate from another cluster (its CA does not match --ca-cert-hash): remove ${pkiDir} to join this one`);
    }
    const v = certificateValidity(stored.certPem);
    const cert = new X509Certificate(stored.certPem);
    const matches = cert.checkPrivateKey(createPrivateKey(stored.keyPem));
    if (!v.subject.split('\n').includes(`CN=${NODE_USER_PREFIX}${opts.nodeName}`)) {
      throw failedPrecondition(`${pkiDir} holds the certificate of another node (${v.subject.replace(/\n/g, ', ')}), not ${opts.nodeName}: remove ${pkiDir} to join under this name`);
    }
    if (matches && v.notAfter.getTime() > now.getTime()) {
      opts.logger.info({ serial: v.serial, expires: v.notAfter.toISOString() }, 'using the node certificate in ' + pkiDir);
      return stored;
    }
    if (matches) {
      // The scheduler renews a node's newest certificate for a while after it expired (its
      // --node-cert-expired-renewal-window); the token only joins names not registered.
      opts.logger.warn({ expired: v.notAfter.toISOString() }, 'the node certificate has expired: renewing with it');
      csr = await pendingNodeCsr(opts.root, opts.nodeName, opts.sans, makeNodeCsr, opts.logger);
      try {
        const certPem = await requestNodeCertificate(parseServerUrl(opts.server), stored.caPem, { certPem: stored.certPem, keyPem: stored.keyPem }, csr.csrPem);
        const creds = await keep(opts, { keyPem: csr.keyPem, certPem, caPem: stored.caPem });
        opts.logger.info({ serial: certificateValidity(certPem).serial }, `node certificate renewed with the expired one; ${creds.unsaved ? 'NOT stored yet' : `stored in ${pkiDir}`}`);
        return creds;
      } catch (err) {
        if (!isKind(err, 'FailedPrecondition') || !opts.tokenFile) throw err;
        opts.logger.warn({ err: messageOf(err) }, 'the expired node certificate was refused: bootstrapping again with the token file (accepted only if the Node was deleted)');
      }
    }
  }
  if (!opts.tokenFile) {
    throw invalidArgument(`this node has no valid certificate in ${pkiDir} yet: pass --token-file FILE with a bootstrap token (\`corelet token create\` on the scheduler) to join`);
  }
  const token = await readTokenFile(opts.tokenFile);
  const address = parseServerUrl(opts.server);
  const caPem = await fetchPinnedCa(address, pin);
  const { keyPem, csrPem } = csr ?? (await pendingNodeCsr(opts.root, opts.nodeName, opts.sans, makeNodeCsr, opts.logger));
  opts.logger.info({ tokenId: parseToken(token).id, node: opts.nodeName }, 'requesting a node certificate with the bootstrap token');
  const certPem = await requestNodeCertificate(address, caPem, { token }, csrPem);
  const creds = await keep(opts, { keyPem, certPem, caPem });
  const v = certificateValidity(certPem);
  opts.logger.info({ serial: v.serial, expires: v.notAfter.toISOString() }, `node certificate issued; ${creds.unsaved ? 'NOT stored yet' : `stored in ${pkiDir}`}`);
  return creds;
}

/**
 * Milliseconds from now until a certificate should be renewed: a random point between 70% and 90% of
 * its lifetime (notBefore..notAfter), as the kubelet's rotation picks it, so thousands of nodes
 * joined together do not renew together. 0 when that point has passed.
 */
export function renewalDelayMs(notBefore: Date, notAfter: Date, now: Date, random: () => number = Math.random): number {
  const life = notAfter.getTime() - notBefore.getTime();
  const at = notBefore.getTime() + life * (0.7 + 0.2 * random());
  return Math.max(0, Math.round(at - now.getTime()));
}

/** Timers and clock, injectable for tests. */
export interface RotationClock {
  now(): Date;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The clock the rotator uses unless a test gives it another. */
export const systemRotationClock: RotationClock = {
  now: () => new Date(),
  // A renewal months away (--node-cert-ttl 8760h) waits its full time (it was clamped to 24.8 days and renewed early).
  setTimeout: (fn, ms) => setLongTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearLongTimeout(h as LongTimeout),
};

/** Options of {@link CertificateRotator}. */
export interface RotatorOptions {
  current: NodeCredentials;
  nodeName: string;
  sans: { dnsNames?: string[]; ips?: string[] };
  /** Asks for a new certificate with the current one (default: {@link requestNodeCertificate} to server). */
  renew: (csrPem: string, current: NodeCredentials) => Promise<string>;
  /**
   * Asks for a certificate with the bootstrap token: only after the current certificate has expired
   * AND the scheduler refused it (401/403/409: the Node was deleted, or the expired-renewal window
   * passed). The scheduler signs a token CSR only for an unregistered name (a token holder never
   * takes over a registered node), so this gets the node back after an admin deleted its Node.
   * Absent: keep trying with the certificate.
   */
  rebootstrap?: (csrPem: string) => Promise<string>;
  /** Stores the new credentials (default in the caller: {@link saveNodeCredentials}). */
  save: (creds: NodeCredentials) => Promise<void>;
  /**
   * Called with the new credentials once received: once stored, or when storing failed (they are
   * used all the same and the save is retried: the scheduler recorded the new certificate as the
   * node's newest, the old one renews nothing more).
   */
  onRotated: (creds: NodeCredentials) => void;
  logger: Logger;
  clock?: RotationClock;
  random?: () => number;
  /** Key and CSR maker (tests pass a fast one). */
  makeCsr?: typeof makeNodeCsr;
}

/** Renews the node certificate before it expires, again and again; retries failures with backoff. */
export class CertificateRotator {
  private current: NodeCredentials;
  private timer: unknown;
  private stopped = false;
  private failures = 0;
  /** The key and CSR of the renewal under way, reused by its retries (a new RSA key per retry costs CPU for nothing). */
  private pending: { keyPem: string; csrPem: string } | undefined;
  /** Credentials in use that could not be saved yet, the timer of the next save and how many failed. */
  private unsaved: { creds: NodeCredentials; timer?: unknown; failures: number } | undefined;
  /** The credentials of the latest save started: an older one's failure plans no retry. */
  private saving: NodeCredentials | undefined;
  private readonly clock: RotationClock;

  constructor(private readonly opts: RotatorOptions) {
    this.current = opts.current;
    this.clock = opts.clock ?? systemRotationClock;
  }

  /** The credentials in use. */
  credentials(): NodeCredentials {
    return this.current;
  }

  /** Schedules the next renewal (and the save of credentials received but not stored yet); returns its delay in ms. */
  start(): number {
    if (this.current.unsaved && this.unsaved === undefined && this.saving === undefined) void this.save(this.current);
    const v = certificateValidity(this.current.certPem);
    const delay = renewalDelayMs(v.notBefore, v.notAfter, this.clock.now(), this.opts.random);
    this.schedule(delay);
    this.opts.logger.info({ serial: v.serial, renewInSeconds: Math.round(delay / 1000), expires: v.notAfter.toISOString() }, 'node certificate rotation scheduled');
    return delay;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.unsaved?.timer !== undefined) this.clock.clearTimeout(this.unsaved.timer);
    this.unsaved = undefined;
  }

  /**
   * Stores creds; on failure (a full or failing disk) keeps them for a later save, retried after 5 s,
   * 10 s, ... up to 5 minutes: the credentials in memory are the node's only valid ones meanwhile.
   * True when stored.
   */
  private async save(creds: NodeCredentials): Promise<boolean> {
    if (this.unsaved?.timer !== undefined) this.clock.clearTimeout(this.unsaved.timer);
    const failures = this.unsaved?.creds === creds ? this.unsaved.failures : 0;
    this.unsaved = undefined;
    this.saving = creds;
    try {
      const late = failures > 0 || creds.unsaved === true;
      await this.opts.save(creds);
      delete creds.unsaved;
      if (late) this.opts.logger.info({ serial: certificateValidity(creds.certPem).serial }, 'node certificate saved');
      return true;
    } catch (err) {
      if (this.stopped || this.saving !== creds) return false;
      const delay = Math.min(5000 * 2 ** Math.min(failures, 16), 300_000);
      this.unsaved = { creds, failures: failures + 1 };
      this.unsaved.timer = this.clock.setTimeout(() => {
        if (this.unsaved?.creds === creds) void this.save(creds);
      }, delay);
      this.opts.logger.warn(
        { err: messageOf(err), serial: certificateValidity(creds.certPem).serial, retryInMs: delay },
        'the node certificate could not be saved: using it from memory, retrying the save (until then a restart loses it)',
      );
      return false;
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.rotate();
    }, ms);
  }

  /** One renewal now (the timer calls it); resolves when done or rescheduled after a failure. */
  async rotate(): Promise<void> {
    if (this.stopped) return;
    try {
      this.pending ??= await (this.opts.makeCsr ?? makeNodeCsr)(this.opts.nodeName, this.opts.sans);
      const { keyPem, csrPem } = this.pending;
      // Even expired, the certificate renews (the scheduler accepts its newest one for a while after
      // its expiry: the TLS handshake proves the key). The token only once that is refused.
      let certPem: string;
      try {
        certPem = await this.opts.renew(csrPem, this.current);
      } catch (err) {
        const expired = certificateValidity(this.current.certPem).notAfter.getTime() <= this.clock.now().getTime();
        if (!expired || !this.opts.rebootstrap || !isKind(err, 'FailedPrecondition')) throw err;
        this.opts.logger.warn({ err: messageOf(err) }, 'the expired node certificate was refused: bootstrapping again with the token file (accepted only if the Node was deleted)');
        certPem = await this.opts.rebootstrap(csrPem);
      }
      const next: NodeCredentials = { keyPem, certPem, caPem: this.current.caPem };
      // The scheduler recorded it as the node's newest: used even when it cannot be saved (see save).
      await this.save(next);
      this.pending = undefined;
      if (this.stopped) return;
      const before = certificateValidity(this.current.certPem).serial;
      this.current = next;
      this.failures = 0;
      const v = certificateValidity(certPem);
      this.opts.logger.info({ previousSerial: before, serial: v.serial, expires: v.notAfter.toISOString() }, 'node certificate rotated');
      this.opts.onRotated(next);
      this.start();
    } catch (err) {
      if (this.stopped) return;
      this.failures++;
      const v = certificateValidity(this.current.certPem);
      const left = v.notAfter.getTime() - this.clock.now().getTime();
      // Back off 5 s, 10 s, ... up to 5 minutes, but try again before the certificate runs out; once
      // it has, the plain back-off (the scheduler may be down for long: no retry every second).
      const backoff = Math.min(5000 * 2 ** Math.min(this.failures - 1, 16), 300_000);
      const delay = Math.max(1000, left > 2000 ? Math.min(backoff, left / 2) : backoff);
      this.opts.logger.warn({ err: messageOf(err), retryInMs: delay, expires: v.notAfter.toISOString() }, 'node certificate renewal failed');
      this.schedule(delay);
    }
  }
}
