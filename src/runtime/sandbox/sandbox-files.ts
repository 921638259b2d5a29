import type { DNSConfig__Output } from '../../cri/index.js';
import { ETC_HOSTS_LOCAL_LINES } from '../../lib/index.js';

/** /etc/hosts of a pod with its own network namespace (the kubelet may mount its own over it). */
export function podHostsFile(hostname: string, ip: string): string {
  const lines = [...ETC_HOSTS_LOCAL_LINES];
  if (ip && hostname) lines.push(`${ip}\t${hostname}`);
  return lines.join('\n') + '\n';
}

/**
 * resolv.conf from the pod's DNSConfig; without one (or an empty one) the pod gets the host's, as
 * containerd and CRI-O do.
 */
export function resolvConf(dns: DNSConfig__Output | null, hostResolvConf: string): string {
  if (!dns || (dns.servers.length === 0 && dns.searches.length === 0 && dns.options.length === 0)) return hostResolvConf;
  const lines: string[] = [];
  if (dns.searches.length > 0) lines.push(`search ${dns.searches.join(' ')}`);
  for (const server of dns.servers) lines.push(`nameserver ${server}`);
  if (dns.options.length > 0) lines.push(`options ${dns.options.join(' ')}`);
  return lines.join('\n') + '\n';
}
