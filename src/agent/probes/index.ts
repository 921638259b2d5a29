/** Container probes (exec, httpGet, tcpSocket) and the per-container workers that schedule them. */
export * from './probe-types.js';
export { runProbe } from './run-probe.js';
export { isExecTimeout } from './exec-probe.js';
export { resolveProbePort } from './port.js';
export * from './probe-worker.js';
export * from './container-probes.js';
export { criProbeDeps } from './cri-exec.js';
export { ProberManager, type ProberManagerDeps, type ProbeStarter, type ProbedContainers } from './prober-manager.js';
