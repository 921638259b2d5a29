/** The agent's HTTP endpoints (/healthz, /pods, /metrics), its metrics, and CRI call instrumentation. */
export * from './agent-metrics.js';
export * from './agent-http-server.js';
export * from './instrument-cri.js';
export * from './sar-client.js';
export * from './pod-stream-paths.js';
