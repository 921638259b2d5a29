/**
 * A pod's DNS (its resolv.conf, as the CRI DNSConfig of RunPodSandbox) from its dnsPolicy and
 * dnsConfig, with the kubelet's semantics (pkg/kubelet/network/dns), pure:
 *
 * - ClusterFirst (the default): the cluster DNS servers only; searches `<ns>.svc.<domain>`,
 *   `svc.<domain>`, `<domain>`, then the node's searches; options `ndots:5`. A hostNetwork pod with
 *   ClusterFirst gets Default instead. Without a cluster DNS address it falls back to Default (with a
 *   MissingClusterDNS warning).
 * - ClusterFirstWithHostNet: ClusterFirst, hostNetwork or not.
 * - Default: the node's resolv.conf (the agent's --resolv-conf); when that is "" (disabled):
 *   nameserver 127.0.0.1 and search "." (no lookups), as the kubelet does.
 * - None: nothing but the pod's dnsConfig.
 * Then the pod's dnsConfig is appended (nameservers and searches after, duplicates dropped; options
 * merged by name, the pod's value winning), and the result cut to the resolver's limits (3
 * nameservers, 32 search domains, 2048 characters of search list), each cut reported.
 */
import type { Pod } from '../../api/index.js';
import type { ResolvConf } from './resolv-conf.js';

/** The agent's DNS settings (the kubelet's --cluster-dns, --cluster-domain, --resolv-conf). */
export interface ClusterDnsSettings {
  /** Cluster DNS server addresses (the node's DNS server); empty: none configured. */
  readonly clusterDNS: readonly string[];
  /** The cluster domain, `cluster.local`; empty: no cluster search domains. */
  readonly clusterDomain: string;
  /** The node's resolv.conf as read; null when the agent's --resolv-conf is "" (disabled). */
  readonly hostResolvConf: ResolvConf | null;
}

/** The CRI DNSConfig (runtime.v1.DNSConfig) fields. */
export interface CriDnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

/** The DNSConfig and the warnings the kubelet would record as pod events. */
export interface PodDnsResult {
  readonly dnsConfig: CriDnsConfig;
  readonly warnings: readonly { reason: 'MissingClusterDNS' | 'DNSConfigForming'; message: string }[];
}

/** The resolver's limits (glibc's, which the kubelet enforces). */
export const MAX_NAMESERVERS = 3;
export const MAX_SEARCH_PATHS = 32;
export const MAX_SEARCH_CHARS = 2048;

type DnsPod = Pick<Pod, 'metadata'> & { spec: Pick<Pod['spec'], 'dnsPolicy' | 'dnsConfig' | 'hostNetwork'> };

/** Which base a pod's DNS starts from. */
function dnsType(pod: DnsPod): 'none' | 'cluster' | 'host' {
  switch (pod.spec.dnsPolicy) {
    case 'None':
      return 'none';
    case 'ClusterFirstWithHostNet':
      return 'cluster';
    case 'Default':
      return 'host';
    case 'ClusterFirst':
    default:
      return pod.spec.hostNetwork ? 'host' : 'cluster';
  }
}

function unique(list: readonly string[]): string[] {
  return [...new Set(list)];
}

/** Builds the pod's CRI DNSConfig. */
export function podDnsConfig(pod: DnsPod, settings: ClusterDnsSettings): PodDnsResult {
  const warnings: { reason: 'MissingClusterDNS' | 'DNSConfigForming'; message: string }[] = [];
  const host = settings.hostResolvConf;
  let config: CriDnsConfig = {
    servers: [...(host?.nameservers ?? [])],
    searches: [...(host?.searches ?? [])],
    options: [...(host?.options ?? [])],
  };
  let type = dnsType(pod);
  if (type === 'none') {
    config = { servers: [], searches: [], options: [] };
  } else if (type === 'cluster') {
    if (settings.clusterDNS.length > 0) {
      const domain = settings.clusterDomain.replace(/\.$/, '');
      const clusterSearches = domain ? [`${pod.metadata.namespace}.svc.${domain}`, `svc.${domain}`, domain] : [];
      config = {
        servers: [...settings.clusterDNS],
        searches: unique([...clusterSearches, ...config.searches]),
        options: ['ndots:5'],
      };
    } else {
      warnings.push({
        reason: 'MissingClusterDNS',
        message: `the agent has no cluster DNS address configured and cannot run the pod with the ${pod.spec.dnsPolicy} policy; falling back to Default`,
      });
      type = 'host';
    }
  }
  if (type === 'host' && host === null) {
    // --resolv-conf "": no DNS from the node (the resolver's "nameserver on the local machine").
    config = { servers: ['127.0.0.1'], searches: ['.'], options: [] };
  }

  const own = pod.spec.dnsConfig;
  if (own) {
    config = {
      servers: unique([...config.servers, ...(own.nameservers ?? [])]),
      searches: unique([...config.searches, ...(own.searches ?? [])]),
      options: mergeOptions(config.options, own.options ?? []),
    };
  }
  return { dnsConfig: fitLimits(config, warnings), warnings };
}

/** Options by name, in first-seen order; a later value (the pod's) replaces an earlier one. */
function mergeOptions(base: readonly string[], pod: readonly { name: string; value?: string }[]): string[] {
  const byName = new Map<string, string | undefined>();
  for (const o of base) {
    const i = o.indexOf(':');
    if (i === -1) byName.set(o, undefined);
    else byName.set(o.slice(0, i), o.slice(i + 1));
  }
  for (const o of pod) byName.set(o.name, o.value);
  return [...byName].map(([name, value]) => (value !== undefined && value !== '' ? `${name}:${value}` : name));
}

function fitLimits(config: CriDnsConfig, warnings: { reason: 'MissingClusterDNS' | 'DNSConfigForming'; message: string }[]): CriDnsConfig {
  let { servers, searches } = config;
  if (servers.length > MAX_NAMESERVERS) {
    servers = servers.slice(0, MAX_NAMESERVERS);
    warnings.push({ reason: 'DNSConfigForming', message: `nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${servers.join(' ')}` });
  }
  let cut = false;
  if (searches.length > MAX_SEARCH_PATHS) {
    searches = searches.slice(0, MAX_SEARCH_PATHS);
    cut = true;
  }
  while (searches.length > 0 && searches.join(' ').length > MAX_SEARCH_CHARS) {
    searches = searches.slice(0, -1);
    cut = true;
  }
  if (cut) warnings.push({ reason: 'DNSConfigForming', message: `search line limits were exceeded, some search paths have been omitted, the applied search line is: ${searches.join(' ')}` });
  return { servers, searches, options: config.options };
}
