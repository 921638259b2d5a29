/**
 * Cluster IPs and node ports of Services. The allocation is the Services themselves: an IP or node
 * port is taken while a stored Service holds it in its spec, so it is allocated in the same store
 * transaction as the Service's create or update (the caller's), kept across scheduler restarts (it is
 * in the store) and freed by the Service's delete, with no second table to drift from the objects
 * (Kubernetes needs a repair loop for its bitmaps; this needs none).
 *
 * Rules, as the API server's: a Service gets a cluster IP from the service range unless headless
 * (`clusterIP: None`); a requested IP must be in the range, not the network or broadcast address,
 * not the one kept for the cluster DNS (.10 of the range) and not another Service's. A NodePort
 * Service gets a node port for every port that asks for none; a requested one must be in the node
 * port range and free for its protocol. An update keeps the cluster IP (it cannot change), keeps the
 * node ports of ports that still exist (matched by port and protocol) and frees those it drops
 * (changing the type to ClusterIP drops them all).
 */
import { isIPv4 } from 'node:net';
import { CLUSTER_IP_NONE, ManifestError, type ServicePort, type ServiceSpec } from '../../api/index.js';
import { invalidArgument, ipv4ToNumber, numberToIPv4, SPECIAL_IPV4_RANGES } from '../../lib/index.js';
import type { Store, StoredObject } from '../store/index.js';

/** The service range `corelet scheduler` uses unless told otherwise (Kubernetes' default). */
export const DEFAULT_SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/12';
/** The node port range unless told otherwise (Kubernetes' default). */
export const DEFAULT_NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;
/** The offset in the service range of the address kept for the cluster DNS (10.96.0.10). */
export const DNS_SERVICE_IP_OFFSET = 10;

/** The service network settings, compiled once by {@link serviceNetworkConfig}. */
export interface ServiceNetworkConfig {
  /** The service range, normalized ("10.96.0.0/12"). */
  readonly clusterIpRange: string;
  /** The address kept for the cluster DNS Service (the range's .10), never handed out otherwise. */
  readonly dnsServiceIp: string;
  readonly nodePortRange: { readonly min: number; readonly max: number };
}

interface Range {
  base: number;
  size: number;
}



const overlaps = (a: Range, b: Range): boolean => a.base < b.base + b.size && b.base < a.base + a.size;

/** Parses the service range flag; any prefix length when known is set (a range it is compared with). */
function parseRange(cidr: string, known = false): Range {
  const [ip, prefixText, extra] = cidr.trim().split('/');
  const prefix = Number(prefixText);
  if (extra !== undefined || !isIPv4(ip ?? '') || !/^\d{1,2}$/.test(prefixText ?? '') || prefix < (known ? 0 : 8) || prefix > (known ? 32 : 29)) {
    throw invalidArgument(`--service-cluster-ip-range must be an IPv4 CIDR with a prefix length from 8 to 29 (e.g. ${DEFAULT_SERVICE_CLUSTER_IP_RANGE}), got ${JSON.stringify(cidr)}`);
  }
  const size = 2 ** (32 - prefix);
  const base = ipv4ToNumber(ip) - (ipv4ToNumber(ip) % size);
  return { base, size };
}

/**
 * Validates the service network flags (`--service-cluster-ip-range`, `--service-node-port-range`
 * "MIN-MAX"). Throws InvalidArgument saying what to change.
 */
export function serviceNetworkConfig(
  clusterIpRange: string = DEFAULT_SERVICE_CLUSTER_IP_RANGE,
  nodePortRange = `${DEFAULT_NODE_PORT_RANGE.min}-${DEFAULT_NODE_PORT_RANGE.max}`,
  clusterCidr?: string,
): ServiceNetworkConfig {
  const r = parseRange(clusterIpRange);
  // Every node DNATs the range's addresses: it must not cover addresses that mean something else.
  const special = SPECIAL_IPV4_RANGES.find((c) => overlaps(r, parseRange(c, true)));
  if (special) throw invalidArgument(`--service-cluster-ip-range ${clusterIpRange} overlaps the special range ${special}: choose a private range such as ${DEFAULT_SERVICE_CLUSTER_IP_RANGE}`);
  if (clusterCidr && overlaps(r, parseRange(clusterCidr, true))) {
    throw invalidArgument(`--service-cluster-ip-range ${clusterIpRange} overlaps the pod network --cluster-cidr ${clusterCidr}: the two must be disjoint`);
  }
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(nodePortRange.trim());
  const min = Number(m?.[1]);
  const max = Number(m?.[2]);
  if (!m || min < 1 || max > 65535 || min > max) throw invalidArgument(`--service-node-port-range must be MIN-MAX within 1-65535 (e.g. 30000-32767), got ${JSON.stringify(nodePortRange)}`);
  const dns = r.size > DNS_SERVICE_IP_OFFSET + 1 ? numberToIPv4(r.base + DNS_SERVICE_IP_OFFSET) : '';
  return { clusterIpRange: `${numberToIPv4(r.base)}/${32 - Math.log2(r.size)}`, dnsServiceIp: dns, nodePortRange: { min, max } };
}

/** The stored shape of a Service, as far as allocation reads it. */
type ServiceLike = { metadata: { name?: string; namespace?: string }; spec: ServiceSpec };

/**
 * Hands out cluster IPs and node ports. Call {@link allocate} inside the store transaction that
 * writes the Service, after decoding (the spec is validated and defaulted).
 */
export class ServiceAllocator {
  private readonly range: Range;

  constructor(readonly config: ServiceNetworkConfig = serviceNetworkConfig()) {
    this.range = parseRange(config.clusterIpRange);
  }

  /**
   * Fills in spec.clusterIP/clusterIPs and the node ports of `service` (changing it in place), or
   * throws a ManifestError (reason Invalid) naming the field: `spec.clusterIP` for an IP out of the
   * range, taken, or changed by an update; `spec.ports[i].nodePort` for a node port out of the range
   * or taken; `spec.clusterIP` too when the range or the node ports are exhausted.
   * `current` is the stored Service an update replaces.
   */
  allocate(store: Store, service: ServiceLike, current?: ServiceLike): void {
    const ref = `Service "${service.metadata.namespace}/${service.metadata.name}"`;
    const others = store
      .list<StoredObject & ServiceLike>('Service')
      .filter((s) => !(s.metadata.namespace === service.metadata.namespace && s.metadata.name === service.metadata.name));
    const spec = service.spec;
    this.allocateClusterIp(spec, current?.spec, others, ref);
    this.allocateNodePorts(spec, current?.spec, others, ref);
  }

  private allocateClusterIp(spec: ServiceSpec, current: ServiceSpec | undefined, others: readonly ServiceLike[], ref: string): void {
    const fail = (message: string): never => {
      throw new ManifestError([`${ref}: spec.clusterIP: ${message}`]);
    };
    if (current?.clusterIP !== undefined) {
      // An update: absent means "keep it" (re-applying a manifest without the allocated IP).
      if (spec.clusterIP === undefined) spec.clusterIP = current.clusterIP;
      else if (spec.clusterIP !== current.clusterIP) fail(`invalid value ${JSON.stringify(spec.clusterIP)}: field is immutable (the Service has ${current.clusterIP}); delete the Service and create it again`);
      // The kept address must still suit the new spec (the decoder only saw the manifest's).
      if (spec.clusterIP === CLUSTER_IP_NONE && spec.type === 'NodePort') fail(`may not be "None" for a NodePort Service (this headless Service keeps "None": delete it and create it again to change its type)`);
      spec.clusterIPs = [spec.clusterIP];
      return;
    }
    if (spec.clusterIP === CLUSTER_IP_NONE) {
      spec.clusterIPs = [CLUSTER_IP_NONE];
      return;
    }
    const used = new Set(others.map((s) => s.spec.clusterIP).filter((ip): ip is string => ip !== undefined && ip !== CLUSTER_IP_NONE));
    if (spec.clusterIP !== undefined) {
      const n = ipv4ToNumber(spec.clusterIP);
      if (n <= this.range.base || n >= this.range.base + this.range.size - 1) fail(`invalid value ${JSON.stringify(spec.clusterIP)}: not in the service range ${this.config.clusterIpRange} (or its network or broadcast address)`);
      if (spec.clusterIP === this.config.dnsServiceIp) fail(`invalid value ${JSON.stringify(spec.clusterIP)}: kept for the cluster DNS Service`);
      if (used.has(spec.clusterIP)) fail(`invalid value ${JSON.stringify(spec.clusterIP)}: provided IP is already allocated`);
      spec.clusterIPs = [spec.clusterIP];
      return;
    }
    const ip = this.freeIp(used, ref);
    if (ip === undefined) fail(`the service range ${this.config.clusterIpRange} is full: no free cluster IP (delete a Service, or set a wider --service-cluster-ip-range)`);
    spec.clusterIP = ip;
    spec.clusterIPs = [ip!];
  }

  /**
   * A free address: searched from a start derived from the Service's name, so addresses spread over
   * the range (as Kubernetes' random pick does) yet tests and re-creations see the same one.
   */
  private freeIp(used: ReadonlySet<string>, ref: string): string | undefined {
    const count = this.range.size - 2; // no network, no broadcast
    const start = hash(ref) % count;
    for (let i = 0; i < count; i++) {
      const ip = numberToIPv4(this.range.base + 1 + ((start + i) % count));
      if (!used.has(ip) && ip !== this.config.dnsServiceIp) return ip;
    }
    return undefined;
  }

  private allocateNodePorts(spec: ServiceSpec, current: ServiceSpec | undefined, others: readonly ServiceLike[], ref: string): void {
    if (spec.type !== 'NodePort') {
      for (const p of spec.ports) delete p.nodePort;
      return;
    }
    const { min, max } = this.config.nodePortRange;
    const used = new Set<string>();
    for (const s of others) for (const p of s.spec.ports ?? []) if (p.nodePort !== undefined) used.add(`${p.nodePort}/${p.protocol}`);
    const kept = new Map<string, number>();
    for (const p of current?.type === 'NodePort' ? current.ports : []) if (p.nodePort !== undefined) kept.set(`${p.port}/${p.protocol}`, p.nodePort);
    // Requested ones first (they must get exactly theirs), then the kept ones, then new ones.
    spec.ports.forEach((p, i) => {
      if (p.nodePort === undefined) return;
      const path = `${ref}: spec.ports[${i}].nodePort`;
      if (p.nodePort < min || p.nodePort > max) throw new ManifestError([`${path}: invalid value ${p.nodePort}: provided port is not in the valid range ${min}-${max}`]);
      if (used.has(`${p.nodePort}/${p.protocol}`)) throw new ManifestError([`${path}: invalid value ${p.nodePort}: provided port is already allocated`]);
      used.add(`${p.nodePort}/${p.protocol}`);
    });
    spec.ports.forEach((p: ServicePort, i) => {
      if (p.nodePort !== undefined) return;
      const keep = kept.get(`${p.port}/${p.protocol}`);
      if (keep !== undefined && !used.has(`${keep}/${p.protocol}`)) {
        p.nodePort = keep;
      } else {
        const size = max - min + 1;
        const start = hash(`${ref}/${p.port}/${p.protocol}`) % size;
        for (let k = 0; k < size && p.nodePort === undefined; k++) {
          const candidate = min + ((start + k) % size);
          if (!used.has(`${candidate}/${p.protocol}`)) p.nodePort = candidate;
        }
        if (p.nodePort === undefined) throw new ManifestError([`${ref}: spec.ports[${i}].nodePort: the node port range ${min}-${max} is full for ${p.protocol} (delete a NodePort Service)`]);
      }
      used.add(`${p.nodePort}/${p.protocol}`);
    });
  }
}

/** FNV-1a: a stable, well-spread start for the searches. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
