/**
 * Which client certificates are valid for each node: the serials the scheduler issued to it, the
 * current one and the one before (an agent that just rotated may still hold a session opened with
 * the previous one), each with its expiry and IP addresses. A node session or a REST request is
 * accepted only with a listed serial, a renewal only with the newest, so deleting the Node
 * ({@link NodeCertificates.revoke}) locks out every certificate it had, as Kubernetes does by
 * refusing a deleted node's identity through the node authorizer. The IP addresses decide which
 * node owns an address (nodes' reported addresses are only claims). Expired certificates are pruned,
 * except a node's newest one during the expired-renewal window after its expiry: with it (and its
 * key) the node renews after an outage longer than its renewal slack; it still opens no session.
 */
import { createHash, createPublicKey } from 'node:crypto';
import type { MetaStore } from './meta.js';

const KEY = 'nodeCertificates';
/** Current and previous: kept during rotation. */
const KEEP = 2;

/** One issued certificate. notAfter (ms) is absent in entries written before it was recorded. */
export interface IssuedNodeCert {
  serial: string;
  notAfter?: number;
  ips?: string[];
  /** {@link publicKeyId} of its key (absent in older entries). */
  key?: string;
  /** The serial of the node's newest certificate when this one was issued: the one it replaced. */
  replaces?: string;
}

/** A public key's identity: the SHA-256 of its SubjectPublicKeyInfo (DER), hex. */
export function publicKeyId(publicKeyPem: string): string {
  return createHash('sha256')
    .update(createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** The certificates of one node, newest last. */
type Table = Record<string, IssuedNodeCert[]>;

function current(c: IssuedNodeCert, now: number): boolean {
  return c.notAfter === undefined || c.notAfter > now;
}

/** c's expiry (ms): recorded, else the presented certificate's (entries written before expiries were recorded). */
function expiry(c: IssuedNodeCert, presented: Date | undefined): number | undefined {
  return c.notAfter ?? presented?.getTime();
}

/** Options of {@link NodeCertificates}. */
export interface NodeCertificatesOptions {
  /** How long after its expiry a node's newest certificate still renews (ms); 0 (default): not at all. */
  expiredRenewalWindowMs?: number;
}

/**
 * Serials (lower-case hex) issued to nodes, kept in the store's meta table and cached in memory (the
 * scheduler is the only writer): checking a session does not parse the table of every node.
 */
export class NodeCertificates {
  private cache: Table | undefined;

  private readonly windowMs: number;

  constructor(
    private readonly meta: MetaStore,
    options: NodeCertificatesOptions = {},
  ) {
    this.windowMs = options.expiredRenewalWindowMs ?? 0;
  }

  /** Unexpired, or a node's newest certificate less than the window past its expiry. */
  private kept(c: IssuedNodeCert, newest: boolean, now: number): boolean {
    return current(c, now) || (newest && this.within(c.notAfter!, now));
  }

  /** True when a certificate that expired at notAfter (ms) still renews at now. */
  within(notAfter: number, now: number): boolean {
    return this.windowMs > 0 && notAfter + this.windowMs > now;
  }

  private table(): Table {
    if (this.cache) return this.cache;
    const raw = JSON.parse(this.meta.getMeta(KEY) ?? '{}') as Record<string, (string | IssuedNodeCert)[]>;
    // Tables written before expiries and addresses were recorded hold bare serials.
    this.cache = Object.fromEntries(Object.entries(raw).map(([n, list]) => [n, list.map((c) => (typeof c === 'string' ? { serial: c } : c))]));
    return this.cache;
  }

  private write(t: Table): void {
    this.meta.setMeta(KEY, JSON.stringify(t));
    this.cache = t;
  }

  /**
   * Records a newly issued certificate for node (its expiry and IP SANs); the oldest beyond the last
   * {@link KEEP} is dropped, and every node's expired certificates are pruned. With reissue (a
   * renewal retried after its answer was lost, {@link retryKey}) the new certificate takes the
   * newest one's place: it replaces what that one replaced, which the node still holds.
   */
  record(node: string, serial: string, cert: { notAfter?: Date; ips?: string[]; publicKeyPem?: string; reissue?: boolean } = {}, now: Date = new Date()): void {
    const t = this.pruned(now.getTime());
    const s = normalizeSerial(serial);
    let list = (t[node] ?? []).filter((x) => x.serial !== s);
    const last = list[list.length - 1];
    const replaces = cert.reissue ? last?.replaces : last?.serial;
    if (cert.reissue && last) list = list.slice(0, -1);
    const entry: IssuedNodeCert = {
      serial: s,
      ...(cert.notAfter ? { notAfter: cert.notAfter.getTime() } : {}),
      ...(cert.ips?.length ? { ips: [...cert.ips] } : {}),
      ...(cert.publicKeyPem ? { key: publicKeyId(cert.publicKeyPem) } : {}),
      ...(replaces ? { replaces } : {}),
    };
    t[node] = [...list, entry].slice(-KEEP);
    this.write(t);
  }

  /** A copy of the table without expired certificates (but the newest within the window) and nodes left with none. */
  private pruned(now: number): Table {
    const t: Table = {};
    for (const [n, list] of Object.entries(this.table())) {
      const kept = list.filter((c, i) => this.kept(c, i === list.length - 1, now));
      if (kept.length > 0) t[n] = kept;
    }
    return t;
  }

  /** Drops expired certificates (and nodes left with none); returns the names dropped entirely. */
  prune(now: Date = new Date()): string[] {
    const before = Object.keys(this.table());
    const t = this.pruned(now.getTime());
    const gone = before.filter((n) => !(n in t));
    if (gone.length > 0 || Object.entries(t).some(([n, l]) => l.length !== this.table()[n]?.length)) this.write(t);
    return gone;
  }

  /** True when serial is one of node's valid certificates. */
  valid(node: string, serial: string): boolean {
    const s = normalizeSerial(serial);
    return (this.table()[node] ?? []).some((c) => c.serial === s);
  }

  /** True when serial is node's newest certificate: the only one a renewal is accepted from. */
  newest(node: string, serial: string): boolean {
    const list = this.table()[node] ?? [];
    return list.length > 0 && list[list.length - 1].serial === normalizeSerial(serial);
  }

  /**
   * The key a renewal presented with serial must be for when serial is the certificate node's newest
   * one replaced: the answer of that renewal was lost and the node retries with its pending key (it
   * has not got the newest certificate; only it holds that key). Undefined otherwise.
   */
  retryKey(node: string, serial: string): string | undefined {
    const list = this.table()[node] ?? [];
    const c = list[list.length - 1];
    return c?.key !== undefined && c.replaces === normalizeSerial(serial) ? c.key : undefined;
  }

  /**
   * Whether serial is node's newest certificate, expired at now but less than the window ago:
   * 'ok', 'not-newest' (unknown, revoked or replaced), 'not-expired' or 'too-late'. notAfter: the
   * presented certificate's expiry, used when the table has none (entries of older tables).
   */
  expiredRenewal(node: string, serial: string, now: Date = new Date(), notAfter?: Date): 'ok' | 'not-newest' | 'not-expired' | 'too-late' {
    if (!this.newest(node, serial)) return 'not-newest';
    const list = this.table()[node]!;
    const end = expiry(list[list.length - 1], notAfter);
    if (end === undefined || end > now.getTime()) return 'not-expired';
    return this.within(end, now.getTime()) ? 'ok' : 'too-late';
  }

  /** True when node has a certificate that has not expired (its name is taken). */
  claimed(node: string, now: Date = new Date()): boolean {
    return (this.table()[node] ?? []).some((c) => current(c, now.getTime()));
  }

  /** The node's valid serials, oldest first. */
  serials(node: string): string[] {
    return (this.table()[node] ?? []).map((c) => c.serial);
  }

  /** The IP addresses in node's unexpired certificates. */
  ipsOf(node: string, now: Date = new Date()): string[] {
    return [...new Set((this.table()[node] ?? []).filter((c) => current(c, now.getTime())).flatMap((c) => c.ips ?? []))];
  }

  /**
   * The node whose unexpired certificate holds ip, other than except; undefined when none. A node's
   * newest certificate keeps its addresses during the expired-renewal window: another node cannot
   * take them while it is away.
   */
  ipOwner(ip: string, except?: string, now: Date = new Date()): string | undefined {
    for (const [n, list] of Object.entries(this.table())) {
      if (n !== except && list.some((c, i) => this.kept(c, i === list.length - 1, now.getTime()) && (c.ips ?? []).includes(ip))) return n;
    }
    return undefined;
  }

  /** Forgets every certificate of node (the Node was deleted); true when it had any. */
  revoke(node: string): boolean {
    if (!(node in this.table())) return false;
    const t = { ...this.table() };
    delete t[node];
    this.write(t);
    return true;
  }
}

/**
 * A serial as {@link issueCertificate} returns it: lower-case hex without leading zero bytes
 * trimmed differently by different readers (Node's X509Certificate prints upper case).
 */
export function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/^(00)+(?=[0-9a-f])/, '');
}
