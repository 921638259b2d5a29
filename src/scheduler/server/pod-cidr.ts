/**
 * Pod CIDRs: the scheduler cuts the cluster CIDR (10.244.0.0/16 by default) into one block per node
 * (/24 by default), so every pod IP tells which node holds the pod, and each node can route the other
 * nodes' blocks to their InternalIPs. Everything here is pure: the store keeps the result in
 * Node.spec.podCIDR, and node-sessions/server wire it to registration and the `peers` message.
 * IPv4 only.
 */
import type { Node, PeerNode } from '../../api/index.js';
import { invalidArgument, ipv4Mask, numberToIPv4, parseIPv4Cidr } from '../../lib/index.js';

/** The cluster CIDR `corelet scheduler` uses unless told otherwise (flannel's default too). */
export const DEFAULT_CLUSTER_CIDR = '10.244.0.0/16';
/** The prefix length of each node's block unless told otherwise: 254 pod addresses per node. */
export const DEFAULT_NODE_CIDR_MASK_SIZE = 24;
/** At most 2^16 node blocks, so that finding the lowest free one stays a small loop. */
const MAX_NODE_BITS = 16;

/** How pod CIDRs are allocated; make one with {@link podCidrConfig}. */
export interface PodCidrConfig {
  /** The cluster CIDR, normalized (e.g. "10.244.0.0/16"). */
  readonly clusterCidr: string;
  /** Prefix length of one node's block, e.g. 24. */
  readonly nodeMaskSize: number;
}

/** An IPv4 block as numbers: first address (host bits zero) and prefix length. */
interface Block {
  base: number;
  prefix: number;
}

/** Parses "a.b.c.d/n" (IPv4); undefined when it is anything else. */
function parseBlock(cidr: string): (Block & { hostBitsSet: boolean }) | undefined {
  const c = parseIPv4Cidr(cidr);
  return c && { base: c.network, prefix: c.bits, hostBitsSet: c.hostBitsSet };
}


function formatBlock(b: Block): string {
  return `${numberToIPv4(b.base)}/${b.prefix}`;
}

/**
 * Validates and normalizes the scheduler's pod CIDR settings (`--cluster-cidr`,
 * `--node-cidr-mask-size`). Throws InvalidArgument saying what to change.
 */
export function podCidrConfig(clusterCidr: string = DEFAULT_CLUSTER_CIDR, nodeMaskSize: number = DEFAULT_NODE_CIDR_MASK_SIZE): PodCidrConfig {
  const block = parseBlock(clusterCidr.trim());
  if (!block) {
    const why = clusterCidr.includes(':') ? 'only IPv4 cluster CIDRs are supported' : 'expected an IPv4 CIDR';
    throw invalidArgument(`--cluster-cidr ${JSON.stringify(clusterCidr)}: ${why}, such as ${DEFAULT_CLUSTER_CIDR}`);
  }
  if (block.hostBitsSet) {
    throw invalidArgument(`--cluster-cidr ${clusterCidr} has host bits set; did you mean ${formatBlock(block)}?`);
  }
  if (!Number.isInteger(nodeMaskSize) || nodeMaskSize < block.prefix || nodeMaskSize > 30) {
    throw invalidArgument(
      `--node-cidr-mask-size ${nodeMaskSize}: must be a whole number from the cluster CIDR's prefix length (${block.prefix}) to 30, e.g. ${DEFAULT_NODE_CIDR_MASK_SIZE}`,
    );
  }
  if (nodeMaskSize - block.prefix > MAX_NODE_BITS) {
    throw invalidArgument(
      `--node-cidr-mask-size ${nodeMaskSize} cuts ${formatBlock(block)} into more than ${2 ** MAX_NODE_BITS} node blocks; use a mask size of at most ${block.prefix + MAX_NODE_BITS} or a smaller cluster CIDR`,
    );
  }
  return { clusterCidr: formatBlock(block), nodeMaskSize };
}

/** How many node blocks the cluster CIDR holds. */
export function podCidrCapacity(config: PodCidrConfig): number {
  const cluster = parseBlock(config.clusterCidr)!;
  return 2 ** (config.nodeMaskSize - cluster.prefix);
}

/**
 * Why cidr cannot be a node's block in this cluster (not an IPv4 CIDR, host bits set, not the node
 * mask size, outside the cluster CIDR); undefined when it can.
 */
export function podCidrProblem(config: PodCidrConfig, cidr: string): string | undefined {
  const block = parseBlock(cidr);
  if (!block) return 'not an IPv4 CIDR';
  if (block.hostBitsSet) return `host bits set (the block is ${formatBlock(block)})`;
  if (block.prefix !== config.nodeMaskSize) return `not a /${config.nodeMaskSize}`;
  const cluster = parseBlock(config.clusterCidr)!;
  if (((block.base & ipv4Mask(cluster.prefix)) >>> 0) !== cluster.base) return `outside the cluster CIDR ${config.clusterCidr}`;
  return undefined;
}

/**
 * Picks a node's pod CIDR: `requested` when it is a valid free block of this cluster (a node asking
 * for the block it had), else the lowest free block. `taken` holds the other nodes' pod CIDRs (any
 * size, anything unparsable ignored; a block overlapping one of them is not free). Undefined when
 * the cluster CIDR is full.
 */
export function allocatePodCidr(config: PodCidrConfig, taken: Iterable<string | undefined>, requested?: string): string | undefined {
  const cluster = parseBlock(config.clusterCidr)!;
  const size = 2 ** (32 - config.nodeMaskSize);
  const count = podCidrCapacity(config);
  const used = new Set<number>();
  const clusterEnd = cluster.base + 2 ** (32 - cluster.prefix);
  for (const cidr of taken) {
    const block = cidr === undefined ? undefined : parseBlock(cidr);
    if (!block) continue;
    const start = Math.max(block.base, cluster.base);
    const end = Math.min(block.base + 2 ** (32 - block.prefix), clusterEnd);
    // Every node block the taken one overlaps (it may be larger or smaller than a node block).
    for (let i = Math.floor((start - cluster.base) / size); i * size + cluster.base < end; i++) used.add(i);
  }
  if (requested !== undefined && podCidrProblem(config, requested) === undefined) {
    const wanted = parseBlock(requested)!;
    if (!used.has((wanted.base - cluster.base) / size)) return formatBlock(wanted);
  }
  for (let i = 0; i < count; i++) {
    if (!used.has(i)) return formatBlock({ base: cluster.base + i * size, prefix: config.nodeMaskSize });
  }
  return undefined;
}

/** What peers route to for node: its pod CIDR and first InternalIP; undefined when it lacks either. */
export function peerOf(node: Pick<Node, 'metadata' | 'spec' | 'status'>): PeerNode | undefined {
  const podCIDR = node.spec?.podCIDR;
  const address = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  if (!podCIDR || !address) return undefined;
  return { name: node.metadata.name, podCIDR, address };
}

/**
 * The routable nodes as the `peers` message lists them, kept up to date from store changes. Most
 * Node changes are heartbeats: {@link PeerTable.apply} says whether the list actually changed, so
 * agents hear only about new, moved or deleted nodes. A NotReady node stays: its pods may still run.
 */
export class PeerTable {
  private readonly byName = new Map<string, PeerNode>();

  constructor(nodes: Iterable<Pick<Node, 'metadata' | 'spec' | 'status'>> = []) {
    for (const node of nodes) this.apply('ADDED', node);
  }

  /** Applies one Node change; true when the peer list changed. */
  apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', node: Pick<Node, 'metadata' | 'spec' | 'status'>): boolean {
    const name = node.metadata.name;
    const before = this.byName.get(name);
    const after = type === 'DELETED' ? undefined : peerOf(node);
    if (after) this.byName.set(name, after);
    else this.byName.delete(name);
    return JSON.stringify(before) !== JSON.stringify(after);
  }

  /** The peers, sorted by name. */
  list(): PeerNode[] {
    return [...this.byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
