/**
 * Node certificates, as kubeadm's TLS bootstrap and the kubelet's rotation get them:
 *
 *   POST /apis/certificates.k8s.io/v1/certificatesigningrequests
 *
 * with a Kubernetes CertificateSigningRequest whose spec.request is a base64 PEM PKCS#10 CSR for
 * subject CN=system:node:<name>, O=system:nodes. The handler runs before the REST router and
 * authenticates by itself:
 * - "Authorization: Bearer <bootstrap token>" (user system:bootstrap:<id>, group
 *   system:bootstrappers): a new node. Refused (409) when a Node of that name exists or a certificate
 *   for it is unexpired, so a token holder cannot take over a joined node (NodeRestriction), even
 *   one whose certificates expired.
 * - a node client certificate listed in {@link NodeCertificates}: a renewal, for its own name only.
 *   Also with the node's newest certificate after it expired, within the expired-renewal window
 *   (the TLS handshake proved the key; the chain is checked against the CA here).
 * It is approved and signed at once (the node authorizer's rules are the approval policy) and the
 * certificate (clientAuth + serverAuth with the CSR's IP/DNS SANs, for the agent's HTTPS port)
 * comes back in status.certificate.
 */
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import forge from 'node-forge';
import { checkDnsSubdomain, type Node } from '../../api/index.js';
import { silentLogger, type Logger, messageOf } from '../../lib/index.js';
import {
  AuthenticationError,
  authenticateToken,
  bearerToken,
  BOOTSTRAP_USER_PREFIX,
  BOOTSTRAPPERS_GROUP,
  certificateUser,
  issueCertificate,
  NODE_USER_PREFIX,
  NODES_GROUP,
  nodeNameOf,
  publicKeyId,
  type CertKeyPair,
  type NodeCertificates,
  type TokenRecord,
  type UserInfo,
  userFromCertificate,
} from '../auth/index.js';
import type { Store } from '../store/index.js';
import { isLoopback } from './node-restriction.js';

export const CSR_PATH = '/apis/certificates.k8s.io/v1/certificatesigningrequests';
/** Kubernetes' signer for kubelet client certificates. */
export const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
/** Node certificates live 30 days by default (see README: renewed at 70–90%, i.e. 3–9 days of slack). */
export const DEFAULT_NODE_CERT_TTL_SECONDS = 30 * 24 * 60 * 60;
/** A node's newest certificate renews up to 30 days after it expired (the default certificate lifetime). */
export const DEFAULT_NODE_CERT_EXPIRED_RENEWAL_WINDOW_SECONDS = DEFAULT_NODE_CERT_TTL_SECONDS;
const MAX_CSR_BODY_BYTES = 64 * 1024;

/** What the handler needs. */
export interface CsrApiOptions {
  store: Store;
  ca: CertKeyPair;
  /** The scheduler's own server certificate (PEM): no node certificate may name what it names. */
  serverCertPem?: string;
  certificates: NodeCertificates;
  tokenLookup: (id: string) => TokenRecord | undefined;
  /** Lifetime of issued node certificates, seconds (at least 60). */
  ttlSeconds: number;
  /** How long after its expiry a node's newest certificate still renews, seconds (0: not at all); the window itself is kept by {@link NodeCertificates}. */
  expiredRenewalWindowSeconds?: number;
  now: () => Date;
  logger?: Logger;
}

class CsrError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_CSR_BODY_BYTES) throw new CsrError(413, 'RequestEntityTooLarge', `a CertificateSigningRequest is at most ${MAX_CSR_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Who asks: a node renewing (its certificate) or a bootstrapper (a token). retryKey: the renewal is
 * presented with the certificate the node's newest one replaced, and is signed only for the newest
 * one's key ({@link NodeCertificates.retryKey}).
 */
interface Caller {
  user: UserInfo;
  renewing?: string;
  retryKey?: string;
}

/** The caller: a node renewing (certificate) or a bootstrapper (token); 401 for anyone else. */
function authenticate(req: IncomingMessage, opts: CsrApiOptions): Caller {
  const socket = req.socket as TLSSocket;
  const certUser = typeof socket.getPeerCertificate === 'function' ? certificateUser(socket, opts.now()) : undefined;
  const node = certUser && nodeNameOf(certUser);
  if (certUser && node) {
    const serial = socket.getPeerCertificate().serialNumber ?? '';
    // The renewal that replaced this certificate was signed but its answer lost: see retryKey.
    const retryKey = opts.certificates.retryKey(node, serial);
    if (retryKey) return { user: certUser, renewing: node, retryKey };
    if (!opts.certificates.valid(node, serial)) {
      throw new CsrError(401, 'Unauthorized', `the certificate of node ${node} is no longer valid (the node was deleted or its certificate replaced): rejoin with a bootstrap token (--token-file)`);
    }
    // The previous certificate still opens sessions (until it expires) but renews nothing: a key
    // stolen before a rotation cannot keep itself alive.
    if (!opts.certificates.newest(node, serial)) {
      throw new CsrError(401, 'Unauthorized', `node ${node} renews only with its newest certificate; this one was replaced`);
    }
    return { user: certUser, renewing: node };
  }
  const expired = expiredNodeCertificate(socket, opts);
  if (expired) return expired;
  const token = bearerToken(req.headers.authorization);
  if (token === undefined) {
    throw new CsrError(401, 'Unauthorized', 'send "Authorization: Bearer <bootstrap token>" (from "corelet token create") or present the node\'s client certificate');
  }
  try {
    const record = authenticateToken(token, opts.tokenLookup, 'bootstrap', opts.now());
    return { user: { username: `${BOOTSTRAP_USER_PREFIX}${record.id}`, groups: [BOOTSTRAPPERS_GROUP] } };
  } catch (err) {
    if (err instanceof AuthenticationError) throw new CsrError(401, 'Unauthorized', `node authentication failed: ${err.message}`);
    throw err;
  }
}

/**
 * A renewal with the node's newest certificate after it expired (the scheduler was down past the
 * node's renewal slack, the machine slept): the TLS handshake proved the client holds its key; the
 * certificate must be signed by our CA (checked here: TLS refused it for its expiry only), be the
 * newest one recorded for the node (not replaced, not revoked by deleting the Node) and have expired
 * less than the window ago. The kubelet's equivalent is a long-lived bootstrap credential; a token
 * is not a node identity here (issue 9), so a registered name is renewed by proof of its key only.
 * Undefined when no certificate of our CA for a node was presented (the token path decides).
 */
function expiredNodeCertificate(socket: TLSSocket, opts: CsrApiOptions): Caller | undefined {
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const peer = socket.getPeerCertificate();
  if (!peer || !peer.raw) return undefined;
  if (!socket.authorized && String(socket.authorizationError) !== 'CERT_HAS_EXPIRED') return undefined;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(peer.raw);
    const ca = new X509Certificate(opts.ca.certPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return undefined;
  } catch {
    return undefined;
  }
  const now = opts.now();
  if (Date.parse(cert.validFrom) > now.getTime() || Date.parse(cert.validTo) > now.getTime()) return undefined;
  const user = userFromCertificate(cert);
  const node = user && nodeNameOf(user);
  if (!user || !node) return undefined;
  const serial = cert.serialNumber;
  const window = opts.expiredRenewalWindowSeconds ?? 0;
  const tooLate = () => {
    const why = window > 0 ? `more than ${formatSeconds(window)} ago (--node-cert-expired-renewal-window)` : 'and renewal with an expired certificate is disabled (--node-cert-expired-renewal-window 0)';
    return new CsrError(401, 'Unauthorized', `the certificate of node ${node} expired at ${new Date(cert.validTo).toISOString()}, ${why}: delete the Node (\`corelet delete node ${node}\`) and join it again with a bootstrap token`);
  };
  const retryKey = opts.certificates.retryKey(node, serial);
  if (retryKey) {
    if (!opts.certificates.within(Date.parse(cert.validTo), now.getTime())) throw tooLate();
    return { user, renewing: node, retryKey };
  }
  if (!opts.certificates.valid(node, serial)) {
    throw new CsrError(401, 'Unauthorized', `the certificate of node ${node} is no longer valid (the node was deleted or its certificate replaced): rejoin with a bootstrap token (--token-file)`);
  }
  const state = opts.certificates.expiredRenewal(node, serial, now, new Date(cert.validTo));
  if (state === 'not-newest') throw new CsrError(401, 'Unauthorized', `node ${node} renews only with its newest certificate; this one was replaced`);
  if (state !== 'ok') throw tooLate();
  return { user, renewing: node };
}

function formatSeconds(s: number): string {
  return s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`;
}

/** What a PKCS#10 request asks for, once its signature is checked. */
export interface ParsedCsr {
  commonName: string;
  organizations: string[];
  publicKeyPem: string;
  dnsNames: string[];
  ips: string[];
}

/** Parses and verifies a PEM PKCS#10 CSR (its self-signature proves the key is held). */
export function parseCsr(pem: string): ParsedCsr {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(pem);
  } catch {
    throw new CsrError(400, 'BadRequest', 'spec.request: not a PEM PKCS#10 certificate request (RSA keys only)');
  }
  let verified: boolean;
  try {
    verified = csr.verify();
  } catch {
    verified = false;
  }
  if (!verified) throw new CsrError(400, 'BadRequest', 'spec.request: the signature does not match the public key');
  const attrs = csr.subject.attributes as { name?: string; value?: unknown }[];
  const cn = attrs.filter((a) => a.name === 'commonName').map((a) => String(a.value));
  const orgs = attrs.filter((a) => a.name === 'organizationName').map((a) => String(a.value));
  if (cn.length !== 1) throw new CsrError(400, 'BadRequest', 'spec.request: the subject needs exactly one CN (system:node:<name>)');
  const dnsNames: string[] = [];
  const ips: string[] = [];
  const ext = csr.getAttribute({ name: 'extensionRequest' }) as { extensions?: { name?: string; altNames?: { type: number; value?: string; ip?: string }[] }[] } | null;
  for (const e of ext?.extensions ?? []) {
    if (e.name !== 'subjectAltName') continue;
    for (const n of e.altNames ?? []) {
      if (n.type === 2 && n.value) dnsNames.push(n.value);
      else if (n.type === 7 && n.ip) ips.push(n.ip);
      else throw new CsrError(400, 'BadRequest', 'spec.request: only DNS and IP subject alternative names are allowed');
    }
  }
  return { commonName: cn[0], organizations: orgs, publicKeyPem: forge.pki.publicKeyToPem(csr.publicKey as forge.pki.PublicKey), dnsNames, ips };
}

/**
 * The SANs a node certificate gets: its name and the CSR's names and addresses, minus everything the
 * scheduler's own server certificate covers and loopback (a node certificate with those would pass
 * for the scheduler with any client that trusts the cluster CA). Dropped ones are returned to log.
 */
export function nodeSans(node: string, csr: Pick<ParsedCsr, 'dnsNames' | 'ips'>, serverCertPem: string | undefined): { dnsNames: string[]; ips: string[]; dropped: string[] } {
  const server = serverCertPem ? new X509Certificate(serverCertPem) : undefined;
  const dropped: string[] = [];
  const dnsNames: string[] = [];
  for (const d of [node, ...csr.dnsNames.map((x) => x.toLowerCase())]) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(d) || dnsNames.includes(d)) continue;
    if (d === 'localhost' || d.endsWith('.localhost') || server?.checkHost(d) !== undefined) dropped.push(d);
    else dnsNames.push(d);
  }
  const ips: string[] = [];
  for (const ip of csr.ips) {
    if (ips.includes(ip)) continue;
    if (isLoopback(ip) || server?.checkIP(ip) !== undefined) dropped.push(ip);
    else ips.push(ip);
  }
  return { dnsNames, ips, dropped };
}

/** Checks what a node may have in its certificate: its own name, its group, its own addresses. */
function checkRequest(csr: ParsedCsr, opts: CsrApiOptions, renewing: string | undefined): string {
  if (!csr.commonName.startsWith(NODE_USER_PREFIX) || csr.commonName.length === NODE_USER_PREFIX.length) {
    throw new CsrError(403, 'Forbidden', `spec.request: the subject CN must be ${NODE_USER_PREFIX}<node name>, got ${JSON.stringify(csr.commonName)}`);
  }
  const node = csr.commonName.slice(NODE_USER_PREFIX.length);
  // The same check as register's (and Kubernetes' for Node names): no name that can never register.
  const badName = checkDnsSubdomain(node);
  if (badName) throw new CsrError(400, 'BadRequest', `spec.request: ${JSON.stringify(node)} is not a valid node name: ${badName}`);
  if (csr.organizations.length !== 1 || csr.organizations[0] !== NODES_GROUP) {
    throw new CsrError(403, 'Forbidden', `spec.request: the subject must have exactly O=${NODES_GROUP}`);
  }
  if (renewing !== undefined && renewing !== node) {
    throw new CsrError(403, 'Forbidden', `node ${renewing} may only renew its own certificate, not one for node ${node}`);
  }
  // A token holder never gets a registered node's name, even once that node's certificates have
  // expired (issue 9: a token is not a node identity). A node whose newest certificate expired renews
  // with that certificate within --node-cert-expired-renewal-window (see authenticate).
  if (renewing === undefined && opts.store.get<Node>('Node', '', node)) {
    throw new CsrError(409, 'Conflict', `node ${node} is already registered; delete it with \`corelet delete node ${node}\` to rejoin under that name`);
  }
  // The name is claimed when its first certificate is issued, not when the node registers: another
  // token holder cannot push that certificate out before the node connects.
  if (renewing === undefined && opts.certificates.claimed(node, opts.now())) {
    throw new CsrError(409, 'Conflict', `a certificate for node ${node} was already issued; delete it with \`corelet delete node ${node}\` to rejoin under that name`);
  }
  for (const d of csr.dnsNames) {
    if (d.toLowerCase() !== node && d.toLowerCase() !== 'localhost') throw new CsrError(403, 'Forbidden', `spec.request: DNS name ${d} is not this node's name (${node})`);
  }
  // Another node's address in this node's serving certificate would let it impersonate that node's
  // port. Addresses belong to the node whose certificate holds them (reported addresses are claims).
  for (const ip of csr.ips) {
    if (isIP(ip) === 0) throw new CsrError(400, 'BadRequest', `spec.request: invalid IP address ${ip}`);
    const owner = opts.certificates.ipOwner(ip, node, opts.now());
    if (owner) throw new CsrError(403, 'Forbidden', `spec.request: IP ${ip} is in node ${owner}'s certificate`);
  }
  return node;
}

/**
 * Answers the request when it is for {@link CSR_PATH} (returns true), else returns false and leaves
 * it to the REST API.
 */
export function handleCsrRequest(req: IncomingMessage, res: ServerResponse, opts: CsrApiOptions): boolean {
  const path = new URL(req.url ?? '/', 'https://scheduler').pathname.replace(/\/$/, '');
  if (path !== CSR_PATH) return false;
  void serve(req, res, opts);
  return true;
}

async function serve(req: IncomingMessage, res: ServerResponse, opts: CsrApiOptions): Promise<void> {
  const logger = opts.logger ?? silentLogger;
  try {
    if (req.method !== 'POST') throw new CsrError(405, 'MethodNotAllowed', `${req.method} is not allowed on ${CSR_PATH}: POST a CertificateSigningRequest`);
    const { user, renewing, retryKey } = authenticate(req, opts);
    let body: { kind?: unknown; spec?: { request?: unknown; signerName?: unknown; usages?: unknown } };
    try {
      body = JSON.parse(await readBody(req)) as typeof body;
    } catch (err) {
      if (err instanceof CsrError) throw err;
      throw new CsrError(400, 'BadRequest', 'the body is not JSON: send a certificates.k8s.io/v1 CertificateSigningRequest');
    }
    if (body?.kind !== 'CertificateSigningRequest') throw new CsrError(400, 'BadRequest', 'kind: expected CertificateSigningRequest');
    const signer = body.spec?.signerName ?? KUBELET_CLIENT_SIGNER;
    if (signer !== KUBELET_CLIENT_SIGNER) throw new CsrError(400, 'BadRequest', `spec.signerName: only ${KUBELET_CLIENT_SIGNER} is signed here, got ${JSON.stringify(signer)}`);
    if (typeof body.spec?.request !== 'string') throw new CsrError(400, 'BadRequest', 'spec.request: expected the base64 of a PEM certificate request');
    const csr = parseCsr(Buffer.from(body.spec.request, 'base64').toString('utf8'));
    // A retry after a lost answer holds the pending key; an old certificate alone (a key stolen before the rotation) renews nothing.
    if (retryKey !== undefined && publicKeyId(csr.publicKeyPem) !== retryKey) {
      throw new CsrError(401, 'Unauthorized', `node ${renewing} renews only with its newest certificate; this one was replaced`);
    }
    const node = checkRequest(csr, opts, renewing);
    const sans = nodeSans(node, csr, opts.serverCertPem);
    if (sans.dropped.length > 0) logger.warn({ node, dropped: sans.dropped }, "node certificate: names and addresses of the scheduler's own certificate (and loopback) left out");
    const now = opts.now();
    const { certPem, serial } = issueCertificate(opts.ca, {
      publicKeyPem: csr.publicKeyPem,
      commonName: csr.commonName,
      organizations: [NODES_GROUP],
      usages: ['clientAuth', 'serverAuth'],
      validitySeconds: opts.ttlSeconds,
      dnsNames: sans.dnsNames,
      ips: sans.ips,
      now,
    });
    opts.certificates.record(node, serial, { notAfter: new Date(new X509Certificate(certPem).validTo), ips: sans.ips, publicKeyPem: csr.publicKeyPem, reissue: retryKey !== undefined }, now);
    logger.info({ node, serial, by: user.username, renewal: renewing !== undefined }, retryKey ? 'node certificate renewed again (the answer to the previous renewal was lost)' : renewing ? 'node certificate renewed' : 'node certificate issued (bootstrap)');
    const ts = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    send(res, 201, {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name: `node-csr-${serial.slice(0, 12)}`, creationTimestamp: ts },
      spec: { request: body.spec.request, signerName: KUBELET_CLIENT_SIGNER, usages: ['digital signature', 'key encipherment', 'client auth', 'server auth'], username: user.username, groups: user.groups },
      status: {
        conditions: [{ type: 'Approved', status: 'True', reason: 'AutoApproved', message: `auto-approved for ${user.username}`, lastUpdateTime: ts }],
        certificate: Buffer.from(certPem).toString('base64'),
      },
    });
  } catch (err) {
    if (res.headersSent) return void res.destroy();
    if (err instanceof CsrError) {
      if (err.code === 409 || err.code === 403) logger.warn({ remote: req.socket.remoteAddress }, `certificate request refused: ${err.message}`);
      return send(res, err.code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: err.message, reason: err.reason, code: err.code });
    }
    logger.error({ err }, 'certificate request failed');
    send(res, 500, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: messageOf(err), reason: 'InternalError', code: 500 });
  }
}

