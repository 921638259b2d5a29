/**
 * Pod networking: named network namespaces and a small CNI executor (spec 0.3.x, 0.4.0, 1.0.0) with
 * config-list chaining, portMappings capability and a per-sandbox attachment cache.
 */
export * from './types.js';
export {
  NetworkManager,
  compileNetworkOptions,
  type NetworkManagerOptions,
  type NetworkSettings,
} from './network-manager.js';
export { createNetns, removeNetns, isNetworkNamespace } from './netns.js';
export {
  SUPPORTED_CNI_VERSIONS,
  DEFAULT_CONFIG_FILE,
  parseNetworkConfig,
  loadNetworkConfig,
  configFileNames,
  defaultNetworkConfig,
  pluginBinaryNames,
  type NetworkConfigList,
  type PluginConfig,
  type LoadedNetworkConfig,
  type DefaultConfigOptions,
} from './cni-config.js';
export {
  POD_IFNAME,
  CniPluginError,
  buildCniArgs,
  cniEnv,
  pluginStdin,
  portMappingsCapability,
  runtimeConfigFor,
  parseCniResult,
  podIps,
  pluginFailure,
  type CniCommand,
  type CniRuntimeArgs,
  type CniPortMapping,
} from './cni-protocol.js';
export { CniExecutor, findPluginBinary, type CniExecutorOptions } from './cni-exec.js';
export { CniResultCache, type CniCacheEntry } from './cni-cache.js';
export { ipMasqChainName, ipMasqComment } from './ipmasq-cleanup.js';
export { ensureBridgeGateway, hostBridgeAddresses, gatewayAddress, type BridgeAddressPort } from './bridge-address.js';
