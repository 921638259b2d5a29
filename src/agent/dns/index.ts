/**
 * The node's cluster DNS: a DNS server answering the cluster zone from the agent's view of Services
 * and endpoints and forwarding the rest to the node's resolvers, and the pod side (dnsPolicy →
 * the CRI DNSConfig). The server runs in a process of its own (dns-process.ts), fed by the agent
 * over a unix socket (feed.ts), so that it outlives agent restarts.
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
  type ServiceViewWriter,
} from './service-view.js';
export { runDnsProcess, dnsBuildId, dnsProcessPaths, type DnsProcessOptions, type RunningDnsProcess } from './dns-process.js';
export { DnsProcessLink, stopDnsProcess, runningDnsPid, type DnsProcessLinkOptions } from './dns-process-client.js';
export { parseFeedOp, parseHello, FEED_PROTOCOL, type DnsProcessSettings, type FeedOp, type HelloMessage } from './feed.js';
export { SourceAcl } from './source-acl.js';
export { parseResolvConf, type ResolvConf } from './resolv-conf.js';
export { podDnsConfig, type ClusterDnsSettings, type CriDnsConfig, type PodDnsResult } from './pod-dns-config.js';
