/** The pod sync in the kubelet's shape: observe the runtime → computePodActions (pure) → carry the actions out (pod-worker.ts). */
export * from './pod-actions.js';
export * from './observe.js';
export * from './context.js';
export { PodExecutor, traceStep, type ExecutorHooks, type StepTarget } from './execute.js';
