export { startAgent, AGENT_DEFAULTS, defaultNodeName, nodeAddress, type AgentConfig, type RunningAgent } from './agent.js';
export { LABELS, ANNOTATIONS } from './cri-config.js';
export { cleanupNodeServices, validateServicesConfig, SERVICES_DEFAULTS, type ServicesConfig } from './services/index.js';
export { runDnsProcess } from './dns/index.js';
