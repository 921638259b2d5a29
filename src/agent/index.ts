export { startAgent, AGENT_DEFAULTS, defaultNodeName, nodeAddress, type AgentConfig, type RunningAgent } from './agent.js';
export { LABELS, ANNOTATIONS } from './cri-config.js';
