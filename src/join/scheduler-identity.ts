/**
 * Whether a certificate the scheduler presents can really be the scheduler's: every node certificate
 * is signed by the same cluster CA (with serverAuth, for the agent's HTTPS port), so chaining to the
 * CA alone does not tell the scheduler from a node. A leaf whose subject is a node identity (O
 * system:nodes, or CN system:node:...) is refused wherever an agent or the CLI connects to the
 * scheduler. (A separate serving CA for the scheduler would make this unnecessary; not done yet.)
 */
import type { X509Certificate } from 'node:crypto';
import tls, { type PeerCertificate } from 'node:tls';
import { NODE_USER_PREFIX, NODES_GROUP } from './identity.js';

function values(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** True when a subject (Node's parsed form, or an X509Certificate's "O=...\nCN=..." text) is a node's. */
export function isNodeSubject(subject: { O?: string | string[]; CN?: string | string[] } | string | undefined): boolean {
  if (subject === undefined) return false;
  let orgs: string[];
  let cns: string[];
  if (typeof subject === 'string') {
    const lines = subject.split('\n');
    orgs = lines.filter((l) => l.startsWith('O=')).map((l) => l.slice(2));
    cns = lines.filter((l) => l.startsWith('CN=')).map((l) => l.slice(3));
  } else {
    orgs = values(subject.O);
    cns = values(subject.CN);
  }
  return orgs.includes(NODES_GROUP) || cns.some((cn) => cn.startsWith(NODE_USER_PREFIX));
}

/** The message for a node certificate posing as the scheduler. */
export function nodePosingMessage(host: string, subject: string): string {
  return `the server at ${host} presented a node certificate (${subject}), not the scheduler's: refusing to talk to it (another node may be impersonating the scheduler)`;
}

/** True when leaf is a node certificate. */
export function isNodeCertificate(leaf: X509Certificate): boolean {
  return isNodeSubject(leaf.subject);
}

/**
 * checkServerIdentity for TLS connections to the scheduler (https/wss options): Node's usual host
 * check, then a refusal of node certificates.
 */
export function checkSchedulerIdentity(host: string, cert: PeerCertificate): Error | undefined {
  const err = tls.checkServerIdentity(host, cert);
  if (err) return err;
  if (isNodeSubject(cert.subject as unknown as { O?: string | string[]; CN?: string | string[] })) {
    const cn = values((cert.subject as unknown as { CN?: string | string[] }).CN).join(',');
    return new Error(nodePosingMessage(host, `CN=${cn}`));
  }
  return undefined;
}
