/**
 * What a node may say about itself (Kubernetes' NodeRestriction admission, for corelet's register
 * and nodeStatus messages): which labels it may set on its Node and which addresses it may claim.
 */
import { isIP } from 'node:net';

/** Labels in the kubernetes.io / k8s.io namespaces a node may set on its own Node (the kubelet's own). */
export const NODE_SELF_LABELS: ReadonlySet<string> = new Set([
  'kubernetes.io/hostname',
  'kubernetes.io/os',
  'kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/arch',
  'node.kubernetes.io/instance-type',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
]);

function reservedDomain(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return false;
  const domain = key.slice(0, slash).toLowerCase();
  return ['kubernetes.io', 'k8s.io'].some((d) => domain === d || domain.endsWith(`.${d}`));
}

/**
 * Splits the labels a node reports into those it may set and those refused: node-restriction.kubernetes.io/*
 * and every other kubernetes.io/ or k8s.io/ key outside {@link NODE_SELF_LABELS}, and a
 * kubernetes.io/hostname that is not the node's own name.
 */
export function nodeSelfLabels(nodeName: string, labels: Readonly<Record<string, string>> | undefined): { allowed: Record<string, string>; refused: string[] } {
  const allowed: Record<string, string> = {};
  const refused: string[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (reservedDomain(k) && (!NODE_SELF_LABELS.has(k) || (k === 'kubernetes.io/hostname' && v !== nodeName))) refused.push(k);
    else allowed[k] = v;
  }
  return { allowed, refused };
}

/**
 * The labels of a re-registering node: the stored ones win (an admin's label is never overridden by
 * the node); the node only adds its allowed labels that are not set yet.
 */
export function mergeNodeLabels(stored: Readonly<Record<string, string>> | undefined, allowed: Readonly<Record<string, string>>): Record<string, string> {
  return { ...allowed, ...(stored ?? {}) };
}

/** Loopback addresses (127.0.0.0/8, ::1). */
export function isLoopback(ip: string): boolean {
  const v = ip.toLowerCase();
  if (isIP(v) === 4) return v.startsWith('127.');
  if (isIP(v) !== 6) return false;
  // Normalized (0:0:0:0:0:0:0:1 → ::1, ::ffff:7f00:1 → ::ffff:7f00:1).
  const n = new URL(`http://[${v}]/`).hostname.slice(1, -1);
  return n === '::1' || /^::ffff:(127\.|7f[0-9a-f]{2}:)/.test(n);
}

/** Whose an address is, for {@link filterNodeAddresses}. */
export interface AddressPolicy {
  /** The IP SANs of the certificate this session was opened with. */
  own: readonly string[];
  /** The other node whose certificate holds ip, if any. */
  owner: (ip: string) => string | undefined;
  /** True for an address no node certificate can hold but a node may report: the scheduler's own (a node beside it). */
  shared: (ip: string) => boolean;
}

/** The IP addresses in a TLS peer certificate's subjectaltname ("DNS:a, IP Address:10.0.0.1"). */
export function certificateIps(subjectaltname: string | undefined): string[] {
  return (subjectaltname ?? '')
    .split(', ')
    .filter((s) => s.startsWith('IP Address:'))
    .map((s) => s.slice('IP Address:'.length));
}

/**
 * Keeps the addresses a node may report: an InternalIP/ExternalIP must be in its certificate, or be
 * loopback or the scheduler's own address, and never in another node's certificate. Other address
 * types (Hostname) are kept. Returns the refused ones with the reason.
 */
export function filterNodeAddresses<A extends { type: string; address: string }>(addresses: readonly A[], policy: AddressPolicy): { allowed: A[]; refused: string[] } {
  const allowed: A[] = [];
  const refused: string[] = [];
  for (const a of addresses) {
    if (a.type !== 'InternalIP' && a.type !== 'ExternalIP') {
      allowed.push(a);
      continue;
    }
    const owner = policy.own.includes(a.address) ? undefined : policy.owner(a.address);
    if (owner) refused.push(`${a.address} (in node ${owner}'s certificate)`);
    else if (policy.own.includes(a.address) || isLoopback(a.address) || policy.shared(a.address)) allowed.push(a);
    else refused.push(`${a.address} (not in this node's certificate)`);
  }
  return { allowed, refused };
}
