import { type Pod, podRequests } from '../../api/index.js';
import { PeriodicTask, failedPrecondition, invalidArgument, silentLogger, type Logger } from '../../lib/index.js';
import type { MemoryObservation } from './memory-available.js';
import { memoryEvictionMessage, rankForMemoryEviction, type PodMemoryUsage } from './rank.js';
import { thresholdBytes, type EvictionThreshold } from './threshold.js';
import { evictOne, thresholdText as textOf } from './evict-one.js';
/** The kubelet's eviction monitoring interval. */
export const DEFAULT_EVICTION_INTERVAL_MS = 10000;

/** Dependencies and settings of {@link EvictionManager}; all side effects are injected. */
export interface EvictionManagerOptions {
  /** The memory.available hard threshold (from {@link parseEvictionHard}). */
  threshold: EvictionThreshold;
  /** Observes the node's memory (see memoryAvailableReader). */
  readAvailable: () => Promise<MemoryObservation>;
  /** Working set of a pod's containers in bytes; undefined when there are no stats. */
  podUsage: (uid: string) => Promise<number | undefined>;
  /** Working set per container name, for the eviction message; optional. */
  containerUsage?: (uid: string) => Promise<Record<string, number> | undefined>;
  /** Kills the pod at once (hard eviction: no grace period) and records message in its status. */
  evict: (pod: Pod, message: string) => Promise<void>;
  /** Static pods are never evicted (the kubelet's IsCriticalPod: they would not be admitted again). */
  isStaticPod?: (pod: Pod) => boolean;
  /** How often start() checks (default 10 s). */
  intervalMs?: number;
  logger?: Logger;
  /** The node's active pods; may also be given to start(). */
  getActivePods?: () => Pod[] | Promise<Pod[]>;
}

/**
 * Hard memory eviction as the kubelet's eviction manager does it: every interval, observe
 * memory.available; when it is below the threshold, rank the active pods (see
 * {@link rankForMemoryEviction}) and evict the first one that is not critical — one pod per check, so
 * the next check sees the memory that eviction freed before choosing again.
 */
export class EvictionManager {
  private readonly opts: EvictionManagerOptions;
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private getActivePods?: () => Pod[] | Promise<Pod[]>;
  private readonly loop = new PeriodicTask(() => this.check(), () => this.intervalMs, (err) => this.logger.error({ err: String(err) }, 'eviction check failed'));
  private pressure = false;
  private last?: MemoryObservation;

  constructor(opts: EvictionManagerOptions) {
    if (opts.threshold.signal !== 'memory.available') {
      throw invalidArgument(`the eviction manager acts on memory.available, not ${opts.threshold.signal}`);
    }
    this.opts = opts;
    this.logger = opts.logger ?? silentLogger;
    this.intervalMs = opts.intervalMs ?? DEFAULT_EVICTION_INTERVAL_MS;
    this.getActivePods = opts.getActivePods;
  }

  /** True when the last check found memory.available below the threshold (the MemoryPressure condition). */
  get memoryPressure(): boolean {
    return this.pressure;
  }

  /** The last memory observation, if any check ran. */
  get lastObservation(): MemoryObservation | undefined {
    return this.last;
  }

  /** Checks every intervalMs (the first check right away) until stop(); errors are logged. */
  start(getActivePods?: () => Pod[] | Promise<Pod[]>): void {
    if (getActivePods) this.getActivePods = getActivePods;
    this.loop.start();
  }

  /** Stops checking; resolves once a check in flight has finished. */
  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /**
   * One round: observes memory and, when below the threshold, evicts one pod. Returns the evicted
   * pod, or undefined when there is no pressure or no pod may be evicted. A failing evict() is
   * rethrown (the pod counts as attempted, as in the kubelet: the next check decides again).
   */
  async check(): Promise<Pod | undefined> {
    const getActivePods = this.getActivePods;
    if (!getActivePods) throw failedPrecondition('eviction manager has no source of active pods (pass it to start())');
    const obs = await this.opts.readAvailable();
    this.last = obs;
    const limit = thresholdBytes(this.opts.threshold, obs.capacityBytes);
    this.pressure = obs.availableBytes < limit;
    if (!this.pressure) return undefined;
    const thresholdText = textOf(this.opts.threshold, limit);
    this.logger.warn({ availableBytes: obs.availableBytes, thresholdBytes: limit }, 'memory.available below the eviction threshold');

    const pods = await getActivePods();
    const items: PodMemoryUsage[] = await Promise.all(
      pods.map(async (pod) => ({
        pod,
        usageBytes: await this.opts.podUsage(pod.metadata.uid).catch(() => undefined),
        requestBytes: podRequests(pod).memoryBytes,
      })),
    );
    const evicted = await evictOne(
      rankForMemoryEviction(items).map((i) => i.pod),
      {
        message: async (pod) => {
          const containerUsage = await this.opts.containerUsage?.(pod.metadata.uid).catch(() => undefined);
          return memoryEvictionMessage({ pod, thresholdText, availableBytes: obs.availableBytes, containerUsage });
        },
        evict: (pod, message) => this.opts.evict(pod, message),
        isCritical: (pod) => this.opts.isStaticPod?.(pod) ?? false,
        logger: this.logger,
      },
    );
    if (evicted) return evicted;
    this.logger.warn('no pod to evict under memory pressure');
    return undefined;
  }
}
