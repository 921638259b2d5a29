/**
 * Who the node's DNS server answers (CoreDNS's acl plugin, action `block`: anyone else gets REFUSED,
 * a reply no larger than the query, so the server amplifies nothing): the cluster's pod CIDR and the
 * node's own addresses (hostNetwork pods, the node itself), given by the agent, plus whatever address
 * the DNS process's network namespace holds now (re-read on a miss, at most every few seconds: a
 * bridge address appears when the first pod starts) and loopback.
 */
import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { ipv4ToNumber } from '../../lib/index.js';
import { parseCidr } from './feed.js';

const LOCAL_REFRESH_MS = 2000;

export class SourceAcl {
  private ranges: { network: number; mask: number; text: string }[] = [];
  private local = new Set<string>();
  private localAt = -Infinity;

  constructor(
    cidrs: readonly string[] = [],
    private readonly localAddresses: () => string[] = defaultLocalAddresses,
    private readonly now: () => number = Date.now,
  ) {
    this.setCidrs(cidrs);
  }

  /** Replaces the accepted CIDRs (each checked; throws InvalidArgument naming the bad one). */
  setCidrs(cidrs: readonly string[]): void {
    this.ranges = cidrs.map((c, i) => {
      const { network, bits, text } = parseCidr(c, `cidrs[${i}]`);
      return { network, mask: bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0, text };
    });
  }

  cidrs(): string[] {
    return this.ranges.map((r) => r.text);
  }

  /** True when `address` (as the socket reports it, maybe IPv4-mapped IPv6) may be answered. */
  allows(address: string): boolean {
    const ip = address.startsWith('::ffff:') ? address.slice(7) : address;
    if (!isIPv4(ip)) return ip === '::1';
    const n = ipv4ToNumber(ip);
    if (n >>> 24 === 127) return true;
    for (const r of this.ranges) if (((n & r.mask) >>> 0) === r.network) return true;
    if (this.local.has(ip)) return true;
    const t = this.now();
    if (t - this.localAt < LOCAL_REFRESH_MS) return false;
    this.localAt = t;
    this.local = new Set(this.localAddresses());
    return this.local.has(ip);
  }
}

function defaultLocalAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4') out.push(a.address);
  return out;
}
