/**
 * The node's cluster DNS: a DNS server answering the cluster zone from the agent's view of Services
 * and endpoints and forwarding the rest to the node's resolvers, and the pod side (dnsPolicy →
 * the CRI DNSConfig).
 */
export { startDnsServer, EDNS_UDP_SIZE, type DnsServerOptions, type RunningDnsServer } from './dns-server.js';
export {
  MemoryServiceView,
  endpointLabel,
  type DnsEndpoint,
  type DnsPort,
  type DnsReverseEntry,
  type DnsService,
  type DnsServiceSpec,
  type ServiceView,
} from './service-view.js';
export { parseResolvConf, type ResolvConf } from './resolv-conf.js';
export { podDnsConfig, type ClusterDnsSettings, type CriDnsConfig, type PodDnsResult } from './pod-dns-config.js';
