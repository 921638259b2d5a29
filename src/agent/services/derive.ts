/**
 * From the agent's Service cache to what the proxy and the DNS server take: the proxy's whole
 * `ProxyState` (its compiler works out what changed), and the DNS view updated per changed object.
 */
import { DEFAULT_CLIENT_IP_TIMEOUT_SECONDS, SERVICE_NAME_LABEL, isHeadless, type EndpointSlice, type Service } from '../../api/index.js';
import type { ProxyService, ProxyServicePortEndpoints, ProxyState } from '../proxy/index.js';
import type { DnsEndpoint, DnsServiceSpec, ServiceViewWriter } from '../dns/index.js';
import type { ServiceCacheChange } from './service-cache.js';

/** The Service as the proxy sees it; undefined for a headless Service or one without its cluster IP yet. */
export function proxyService(s: Service): ProxyService | undefined {
  const ip = s.spec.clusterIP;
  if (ip === undefined || isHeadless(s.spec)) return undefined;
  return {
    namespace: s.metadata.namespace,
    name: s.metadata.name,
    clusterIP: ip,
    ports: s.spec.ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol, ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}) })),
    ...(s.spec.sessionAffinity === 'ClientIP' ? { sessionAffinity: { timeoutSeconds: s.spec.sessionAffinityConfig?.clientIP.timeoutSeconds ?? DEFAULT_CLIENT_IP_TIMEOUT_SECONDS } } : {}),
  };
}

/** One entry per slice port, with every endpoint of the slice; undefined when the slice names no Service. */
export function proxyEndpoints(slice: EndpointSlice): ProxyServicePortEndpoints[] | undefined {
  const service = slice.metadata.labels[SERVICE_NAME_LABEL];
  if (!service) return undefined;
  return slice.ports.map((p) => ({
    namespace: slice.metadata.namespace,
    service,
    portName: p.name,
    protocol: p.protocol,
    endpoints: slice.endpoints
      .filter((e) => e.addresses[0] !== undefined)
      .map((e) => ({ ip: e.addresses[0]!, port: p.port, ready: e.conditions.ready, serving: e.conditions.serving, terminating: e.conditions.terminating })),
  }));
}

export interface NodeNetwork {
  nodeAddresses: string[];
  clusterCIDR?: string;
  /** This node's cluster DNS address: never a Service's (a DNAT of it would take every pod's DNS). */
  clusterDNS?: string;
}

/** The whole proxy state of the cache's objects on this node. */
export function proxyState(services: Iterable<Service>, slices: Iterable<EndpointSlice>, node: NodeNetwork): ProxyState {
  const state: ProxyState = { services: [], endpoints: [], nodeAddresses: node.nodeAddresses, ...(node.clusterCIDR ? { clusterCIDR: node.clusterCIDR } : {}) };
  // A Service may not claim an address of this node (its DNS address, a node address): the scheduler
  // keeps its range's .10 and the pod and node networks out of the range, but its range and this
  // agent's --cluster-dns are set apart, so the agent checks too.
  const own = new Set([...node.nodeAddresses, ...(node.clusterDNS ? [node.clusterDNS] : [])]);
  for (const s of services) {
    const p = proxyService(s);
    if (p && !own.has(p.clusterIP)) state.services.push(p);
  }
  for (const slice of slices) state.endpoints.push(...(proxyEndpoints(slice) ?? []));
  return state;
}

/** The Service as DNS sees it; undefined while a non-headless Service has no cluster IP (it must not pass as headless). */
export function dnsService(s: Service): DnsServiceSpec | undefined {
  const ip = s.spec.clusterIP;
  if (ip === undefined) return undefined;
  return {
    namespace: s.metadata.namespace,
    name: s.metadata.name,
    clusterIP: isHeadless(s.spec) ? null : ip,
    ports: s.spec.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol })),
  };
}

/** The slice's ready endpoints, as DNS publishes them (publishNotReadyAddresses makes every one ready). */
export function dnsEndpoints(slice: EndpointSlice): DnsEndpoint[] {
  const ports = slice.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol }));
  return slice.endpoints
    .filter((e) => e.conditions.ready && e.addresses[0] !== undefined)
    .map((e) => ({ ip: e.addresses[0]!, ...(e.hostname ? { hostname: e.hostname } : {}), ports }));
}

/** Applies one batch's changes to the DNS view. */
export function applyToDnsView(view: ServiceViewWriter, changes: readonly ServiceCacheChange[]): void {
  for (const c of changes) {
    if (c.kind === 'Service') {
      const spec = c.object && dnsService(c.object);
      if (spec) view.setService(spec);
      else view.deleteService(c.namespace, c.name);
      continue;
    }
    const service = c.object?.metadata.labels[SERVICE_NAME_LABEL];
    // (a slice that moved to another Service leaves the old one: the view keeps each slice's owner)
    if (!c.object || !service) view.deleteEndpointSlice(c.namespace, c.name);
    else view.setEndpointSlice(c.namespace, service, c.name, dnsEndpoints(c.object));
  }
}
