/**
 * Which client certificates are valid for each node: the serials the scheduler issued to it, the
 * current one and the one before (an agent that just rotated may still hold a session opened with
 * the previous one). A node session or a renewal is accepted only with a listed serial, so deleting
 * the Node ({@link NodeCertificates.revoke}) locks out every certificate it had, as Kubernetes does
 * by refusing a deleted node's identity through the node authorizer.
 */
import type { MetaStore } from './meta.js';

const KEY = 'nodeCertificates';
/** Current and previous: kept during rotation. */
const KEEP = 2;

/** The serials of one node, newest last. */
type Table = Record<string, string[]>;

/**
 * Serials (lower-case hex) issued to nodes, kept in the store's meta table and cached in memory (the
 * scheduler is the only writer): checking a session does not parse the table of every node.
 */
export class NodeCertificates {
  private cache: Table | undefined;

  constructor(private readonly meta: MetaStore) {}

  private table(): Table {
    this.cache ??= JSON.parse(this.meta.getMeta(KEY) ?? '{}') as Table;
    return this.cache;
  }

  private write(t: Table): void {
    this.meta.setMeta(KEY, JSON.stringify(t));
    this.cache = t;
  }

  /** Records a newly issued certificate for node; the oldest beyond the last {@link KEEP} is dropped. */
  record(node: string, serial: string): void {
    const t = { ...this.table() };
    const s = normalizeSerial(serial);
    t[node] = [...(t[node] ?? []).filter((x) => x !== s), s].slice(-KEEP);
    this.write(t);
  }

  /** True when serial is one of node's valid certificates. */
  valid(node: string, serial: string): boolean {
    return (this.table()[node] ?? []).includes(normalizeSerial(serial));
  }

  /** The node's valid serials, oldest first. */
  serials(node: string): string[] {
    return [...(this.table()[node] ?? [])];
  }

  /** Forgets every certificate of node (the Node was deleted). */
  revoke(node: string): void {
    if (!(node in this.table())) return;
    const t = { ...this.table() };
    delete t[node];
    this.write(t);
  }
}

/**
 * A serial as {@link issueCertificate} returns it: lower-case hex without leading zero bytes
 * trimmed differently by different readers (Node's X509Certificate prints upper case).
 */
export function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/^(00)+(?=[0-9a-f])/, '');
}
