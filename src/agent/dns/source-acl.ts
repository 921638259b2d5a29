/**
 * Who the node's DNS server answers (CoreDNS's acl plugin, action `block`: anyone else gets REFUSED,
 * a reply no larger than the query, so the server amplifies nothing): the cluster's pod CIDR and the
 * node's own addresses (hostNetwork pods, the node itself), given by the agent, plus whatever address
 * the DNS process's network namespace holds now (re-read on a miss, at most every few seconds: a
 * bridge address appears when the first pod starts) and loopback.
 */
import { networkInterfaces } from 'node:os';
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
    const n = dottedQuad(ip);
    if (n < 0) return ip === '::1';
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

/**
 * A dotted-quad IPv4 address as a number, or -1 when `ip` is not one (what node:net's isIPv4 takes:
 * four decimal octets, 0-255, no leading zero), in one pass: it runs for every query.
 */
export function dottedQuad(ip: string): number {
  const len = ip.length;
  if (len < 7 || len > 15) return -1;
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i <= len; i++) {
    const c = i === len ? 46 : ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || octet > 255) return -1;
      n = n * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1; // a leading zero
      octet = octet * 10 + (c - 48);
      digits++;
      if (digits > 3) return -1;
    } else return -1;
  }
  return dots === 4 ? n : -1;
}

function defaultLocalAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4') out.push(a.address);
  return out;
}
