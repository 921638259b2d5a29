/**
 * The step both eviction managers (memory, disk) end a round with, as the kubelet's evictPod: go
 * down the ranked pods, pass over critical ones (priority ≥ system-critical, or what isCritical
 * says, e.g. static pods), evict the first other one and stop there: one pod per round.
 */
import type { Pod } from '../../api/index.js';
import { wrap, type Logger } from '../../lib/index.js';
import { formatBinaryQuantity } from './rank.js';
import type { EvictionThreshold } from './threshold.js';

/** Pods at or above this priority (system-cluster-critical and up) are never evicted, as in the kubelet. */
export const SYSTEM_CRITICAL_PRIORITY = 2000000000;

export interface EvictOneOptions {
  /** Also critical (never evicted) besides the priority rule. */
  isCritical?: (pod: Pod) => boolean;
  /** The eviction message of a pod (its status message and event). */
  message: (pod: Pod) => string | Promise<string>;
  evict: (pod: Pod, message: string) => Promise<void>;
  logger: Logger;
  /** Added to the 'evicting pod' log line. */
  logFields?: Record<string, unknown>;
}

/** Evicts the first pod of ranked that is not critical; returns it (undefined: none could go). A failing evict is rethrown, naming the pod. */
export async function evictOne(ranked: Iterable<Pod>, opts: EvictOneOptions): Promise<Pod | undefined> {
  for (const pod of ranked) {
    const name = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if ((pod.spec.priority ?? 0) >= SYSTEM_CRITICAL_PRIORITY || opts.isCritical?.(pod)) {
      opts.logger.info({ pod: name }, 'cannot evict a critical pod');
      continue;
    }
    const message = await opts.message(pod);
    opts.logger.warn({ pod: name, ...opts.logFields, message }, 'evicting pod');
    try {
      await opts.evict(pod, message);
    } catch (err) {
      throw wrap(err, `evicting pod ${name}`);
    }
    return pod;
  }
  return undefined;
}

/** The threshold as the kubelet's message states it: its quantity as written, or the bytes a percentage came to. */
export function thresholdText(threshold: EvictionThreshold, limitBytes: number): string {
  return threshold.quantity !== undefined ? threshold.value : formatBinaryQuantity(limitBytes);
}
