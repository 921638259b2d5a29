/**
 * Services on the node: the agent's cache of the scheduler's Services and EndpointSlices, driving
 * the service proxy (agent/proxy) and the cluster DNS server (agent/dns).
 */
export { ServiceCache, type AppliedBatch, type ServiceCacheChange } from './service-cache.js';
export { applyToDnsView, dnsEndpoints, dnsService, proxyEndpoints, proxyService, proxyState, type NodeNetwork } from './derive.js';
export { ProxySyncLoop, type ProxyApplier, type ProxySyncLoopOptions } from './proxy-loop.js';
export { ensureLoopbackAddress, flushServiceConntrack, hasLoopbackAddress, removeLoopbackAddress, tableServiceAddresses } from './host-network.js';
export {
  NodeServices,
  cleanupNodeServices,
  validateServicesConfig,
  ENDPOINT_PROPAGATION_MS,
  MAX_ENDPOINT_HOLD_MS,
  SERVICES_DEFAULTS,
  type NodeServicesOptions,
  type ServicesConfig,
} from './node-services.js';
