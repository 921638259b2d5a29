/**
 * Disk eviction as the kubelet's eviction manager does it for nodefs.available (the filesystem of
 * the agent's root and pod logs) and imagefs.available (the runtime's image filesystem): every
 * interval, observe both; under a threshold, reclaim node-level resources first (dead containers
 * and their logs, unused images), observe again, and only if still under it evict one pod, ranked
 * as for memory (pods
 * using more than their ephemeral-storage request first, then lower priority, then the largest
 * usage: writable layers, logs and emptyDir volumes). Critical pods (static pods, priority ≥
 * system-critical) are never evicted. After an eviction it waits, bounded (the kubelet's 30 s
 * podCleanupTimeout), until the pod's containers, emptyDir volumes and logs are gone, so the next
 * round measures what the eviction freed instead of evicting pod after pod. DiskPressure holds while a threshold is met and
 * for the pressure transition period after (the kubelet's 5 min), so the scheduler keeps new pods
 * away (node.kubernetes.io/disk-pressure:NoSchedule) while the node recovers.
 */
import { PeriodicTask, silentLogger, type Logger } from '../../lib/index.js';
import { type Pod, memoryBytes } from '../../api/index.js';
import { evictOne, thresholdText as textOf } from './evict-one.js';
import { formatBinaryQuantity, rankForMemoryEviction, type PodMemoryUsage } from './rank.js';
import { thresholdBytes, type EvictionThreshold } from './threshold.js';

/** Capacity and free space of a filesystem. */
export interface DiskObservation {
  capacityBytes: number;
  availableBytes: number;
}

export type DiskSignal = 'nodefs.available' | 'imagefs.available';

/** The kubelet's podCleanupTimeout and its poll interval. */
export const DEFAULT_POD_CLEANUP_TIMEOUT_MS = 30_000;
const POD_CLEANUP_POLL_MS = 1000;

/** The kubelet's --eviction-pressure-transition-period. */
export const DEFAULT_PRESSURE_TRANSITION_MS = 5 * 60_000;

export interface DiskEvictionOptions {
  /** The nodefs.available / imagefs.available hard thresholds (others are ignored). */
  thresholds: readonly EvictionThreshold[];
  nodeFs: () => Promise<DiskObservation>;
  imageFs: () => Promise<DiskObservation>;
  /** Node-level reclaim before evicting a pod: dead containers and their logs, unused images (the kubelet's containerGC + imageGC). */
  reclaim: (signal: DiskSignal) => Promise<unknown>;
  /** Bytes a pod uses on the node's disk (logs, emptyDir volumes, writable layers); undefined when unknown. */
  podUsage: (pod: Pod) => Promise<number | undefined>;
  evict: (pod: Pod, message: string) => Promise<void>;
  getActivePods?: () => Pod[] | Promise<Pod[]>;
  /** Static (manifest-folder) pods: critical, never evicted (the kubelet's IsCriticalPod). */
  isStaticPod?: (pod: Pod) => boolean;
  /** Whether an evicted pod's containers, volumes and logs are gone (the kubelet's podCleanedUpFunc). */
  podCleanedUp?: (pod: Pod) => boolean | Promise<boolean>;
  /** How long to wait for that (default 30 s, the kubelet's podCleanupTimeout). */
  podCleanupTimeoutMs?: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  intervalMs?: number;
  pressureTransitionMs?: number;
  now?: () => number;
  logger?: Logger;
}

/** The pod's ephemeral-storage request: the sum of its app containers' (init containers: the largest), as for other resources. */
export function ephemeralStorageRequest(pod: Pod): number {
  const of = (c: { resources?: { requests?: Record<string, string> } }) => {
    const q = c.resources?.requests?.['ephemeral-storage'];
    return q === undefined ? 0 : memoryBytes(q);
  };
  const app = pod.spec.containers.reduce((n, c) => n + of(c), 0);
  const init = pod.spec.initContainers.reduce((n, c) => Math.max(n, of(c)), 0);
  return Math.max(app, init);
}

/** The kubelet's message for a disk eviction. */
export function diskEvictionMessage(thresholdText: string, availableBytes: number): string {
  return `The node was low on resource: ephemeral-storage. Threshold quantity: ${thresholdText}, available: ${formatBinaryQuantity(availableBytes)}.`;
}

export class DiskEvictionManager {
  private readonly logger: Logger;
  private readonly now: () => number;
  private getActivePods?: () => Pod[] | Promise<Pod[]>;
  private readonly loop = new PeriodicTask(() => this.check(), () => this.opts.intervalMs ?? 10_000, (err) => this.logger.error({ err: String(err) }, 'disk eviction check failed'));
  private lastMet = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: DiskEvictionOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.getActivePods = opts.getActivePods;
  }

  private get thresholds(): EvictionThreshold[] {
    return this.opts.thresholds.filter((t) => t.signal === 'nodefs.available' || t.signal === 'imagefs.available');
  }

  /** True while a disk threshold is met, and for the transition period after (the DiskPressure condition). */
  get diskPressure(): boolean {
    return this.now() - this.lastMet < (this.opts.pressureTransitionMs ?? DEFAULT_PRESSURE_TRANSITION_MS);
  }

  start(getActivePods?: () => Pod[] | Promise<Pod[]>): void {
    if (getActivePods) this.getActivePods = getActivePods;
    if (this.thresholds.length === 0) return;
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** The thresholds met now, with what was observed. */
  private async observe(): Promise<{ threshold: EvictionThreshold; obs: DiskObservation; limit: number }[]> {
    const met: { threshold: EvictionThreshold; obs: DiskObservation; limit: number }[] = [];
    for (const t of this.thresholds) {
      const obs = await (t.signal === 'nodefs.available' ? this.opts.nodeFs() : this.opts.imageFs());
      const limit = thresholdBytes(t, obs.capacityBytes);
      if (obs.availableBytes < limit) met.push({ threshold: t, obs, limit });
    }
    return met;
  }

  /**
   * One round: under a disk threshold, reclaim (unused images), and if that was not enough, evict
   * one pod. Returns the evicted pod, if any.
   */
  async check(): Promise<Pod | undefined> {
    let met = await this.observe();
    if (met.length === 0) return undefined;
    this.lastMet = this.now();
    for (const m of met) this.logger.warn({ signal: m.threshold.signal, availableBytes: m.obs.availableBytes, thresholdBytes: m.limit }, 'disk below the eviction threshold: removing unused images first');
    for (const signal of new Set(met.map((m) => m.threshold.signal as DiskSignal))) {
      await this.opts.reclaim(signal).catch((err) => this.logger.warn({ signal, err: String(err) }, 'reclaiming disk space failed'));
    }
    met = await this.observe();
    if (met.length === 0) {
      this.logger.info('reclaiming unused images relieved the disk pressure: no pod evicted');
      return undefined;
    }
    const { threshold, obs, limit } = met[0]!;
    const pods = await (this.getActivePods?.() ?? []);
    const items: PodMemoryUsage[] = await Promise.all(
      pods.map(async (pod) => ({ pod, usageBytes: await this.opts.podUsage(pod).catch(() => undefined), requestBytes: ephemeralStorageRequest(pod) })),
    );
    const thresholdText = textOf(threshold, limit);
    const evicted = await evictOne(
      rankForMemoryEviction(items).map((i) => i.pod),
      {
        isCritical: (pod) => this.opts.isStaticPod?.(pod) ?? false,
        message: () => diskEvictionMessage(thresholdText, obs.availableBytes),
        evict: (pod, message) => this.opts.evict(pod, message),
        logger: this.logger,
        logFields: { signal: threshold.signal },
      },
    );
    if (evicted) {
      await this.waitForCleanup(evicted);
      return evicted;
    }
    this.logger.warn({ signal: threshold.signal }, 'no pod to evict under disk pressure');
    return undefined;
  }

  /** Waits until the evicted pod is cleaned up, at most the cleanup timeout. */
  private async waitForCleanup(pod: Pod): Promise<void> {
    const cleanedUp = this.opts.podCleanedUp;
    if (!cleanedUp) return;
    const sleep = this.opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const timeout = this.opts.podCleanupTimeoutMs ?? DEFAULT_POD_CLEANUP_TIMEOUT_MS;
    for (let waited = 0; ; waited += POD_CLEANUP_POLL_MS) {
      if (await Promise.resolve(cleanedUp(pod)).catch(() => false)) return;
      if (waited >= timeout) break;
      await sleep(POD_CLEANUP_POLL_MS);
    }
    this.logger.warn({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, timeoutMs: timeout }, 'the evicted pod was not cleaned up in time');
  }
}
