/**
 * resolv.conf as the node's resolver reads it (resolv.conf(5)): the DNS server forwards to its
 * nameservers, and dnsPolicy Default / ClusterFirst start from it as the kubelet does.
 */
import { isIP } from 'node:net';

/** The parts of a resolv.conf that matter to pods and forwarding. */
export interface ResolvConf {
  /** Nameserver IPs in file order (lines that are not an IP are skipped, as the resolver does). */
  readonly nameservers: readonly string[];
  /** The last `search` (or `domain`) line's domains, without trailing dots; "." dropped. */
  readonly searches: readonly string[];
  /** `options` words in file order (`ndots:2`, `edns0`). */
  readonly options: readonly string[];
}

/** At most this many bytes of a resolv.conf are read (a real one is a few hundred). */
export const RESOLV_CONF_MAX_BYTES = 64 * 1024;

/** Parses resolv.conf text; unknown lines and comments (`#`, `;`) are ignored. */
export function parseResolvConf(text: string): ResolvConf {
  const nameservers: string[] = [];
  let searches: string[] = [];
  const options: string[] = [];
  for (const raw of text.slice(0, RESOLV_CONF_MAX_BYTES).split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const [word, ...rest] = line.split(/\s+/);
    switch (word) {
      case 'nameserver': {
        const ip = rest[0]?.replace(/%.*$/, '');
        if (ip && isIP(ip)) nameservers.push(ip);
        break;
      }
      case 'search':
      case 'domain':
        // The last search or domain line wins (resolv.conf(5)).
        searches = rest.map((s) => s.replace(/\.$/, '')).filter((s) => s !== '');
        break;
      case 'options':
        options.push(...rest);
        break;
    }
  }
  return { nameservers, searches, options };
}
