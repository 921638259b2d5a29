import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PodPhase } from '../../api/index.js';

/** The container states counted by corelet_containers (ContainerState's three members). */
export type ContainerStateName = 'waiting' | 'running' | 'terminated';

const POD_PHASES: PodPhase[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];
const CONTAINER_STATES: ContainerStateName[] = ['waiting', 'running', 'terminated'];

/** Options for {@link AgentMetrics}. */
export interface AgentMetricsOptions {
  /** Also export prom-client's process metrics (CPU, memory, event loop lag). Default false. */
  processMetrics?: boolean;
}

/**
 * The agent's Prometheus metrics in a registry of its own (never prom-client's global one, so
 * several agents or tests in one process do not collide).
 */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly pods: Gauge<'phase'>;
  private readonly containers: Gauge<'state'>;
  private readonly syncDuration: Histogram;
  private readonly criDuration: Histogram<'method'>;
  private readonly criErrors: Counter<'method' | 'code'>;
  private readonly restarts: Counter;
  private readonly evictions: Counter;
  private readonly ruleSyncDuration: Histogram;
  private readonly ruleSyncFailures: Counter;

  constructor(opts: AgentMetricsOptions = {}) {
    const registers = [this.registry];
    this.pods = new Gauge({ name: 'corelet_pods', help: 'Pods on this node by phase.', labelNames: ['phase'], registers });
    this.containers = new Gauge({ name: 'corelet_containers', help: 'Containers on this node by state.', labelNames: ['state'], registers });
    this.syncDuration = new Histogram({
      name: 'corelet_pod_sync_duration_seconds',
      help: 'Duration of one pod sync (admit, pull, sandbox, containers).',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.criDuration = new Histogram({
      name: 'corelet_cri_call_duration_seconds',
      help: 'Duration of CRI calls by method.',
      labelNames: ['method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.criErrors = new Counter({
      name: 'corelet_cri_call_errors_total',
      help: 'Failed CRI calls by method and gRPC status code name.',
      labelNames: ['method', 'code'],
      registers,
    });
    this.restarts = new Counter({ name: 'corelet_container_restarts_total', help: 'Container restarts done by the agent.', registers });
    this.evictions = new Counter({ name: 'corelet_evictions_total', help: 'Pods evicted under node pressure.', registers });
    this.ruleSyncDuration = new Histogram({
      name: 'corelet_service_rules_sync_duration_seconds',
      help: 'Duration of one Service rule sync (compile and nft transaction).',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.ruleSyncFailures = new Counter({ name: 'corelet_service_rules_sync_failures_total', help: 'Service rule syncs that failed (retried with back-off).', registers });
    this.setPodPhases({});
    this.setContainerStates({});
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Records the duration of one pod sync. */
  observeSync(seconds: number): void {
    this.syncDuration.observe(seconds);
  }

  /** Records one CRI call; errCode (a gRPC status name such as "NOT_FOUND") marks it failed. */
  observeCri(method: string, seconds: number, errCode?: string): void {
    this.criDuration.observe({ method }, seconds);
    if (errCode !== undefined) this.criErrors.inc({ method, code: errCode });
  }

  /** Counts container restarts. */
  restart(count = 1): void {
    this.restarts.inc(count);
  }

  /** Records one Service rule sync; failed: it was refused (the rules stayed as they were). */
  observeRuleSync(seconds: number, failed = false): void {
    if (failed) this.ruleSyncFailures.inc();
    else this.ruleSyncDuration.observe(seconds);
  }

  /** Counts one pod eviction. */
  eviction(): void {
    this.evictions.inc();
  }

  /** Sets the pod counts by phase; phases not given are 0 (so a series never goes stale). */
  setPodPhases(counts: Partial<Record<PodPhase, number>>): void {
    for (const phase of POD_PHASES) this.pods.set({ phase }, counts[phase] ?? 0);
  }

  /** Sets the container counts by state; states not given are 0. */
  setContainerStates(counts: Partial<Record<ContainerStateName, number>>): void {
    for (const state of CONTAINER_STATES) this.containers.set({ state }, counts[state] ?? 0);
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type for {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
