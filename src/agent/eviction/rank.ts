import type { Pod } from '../../api/index.js';
import { memoryBytes } from '../../api/index.js';

/** A pod with its memory figures, the input of the ranking. */
export interface PodMemoryUsage {
  pod: Pod;
  /** Working set of the pod's containers; undefined when no stats could be read. */
  usageBytes?: number;
  /** The pod's memory request (as the scheduler counts it). */
  requestBytes: number;
}

/**
 * Orders pods for eviction under memory pressure as the kubelet's rankMemoryPressure does: pods
 * without stats first (nothing proves they are cheap), then pods using more than they requested
 * (which includes every BestEffort pod using anything), then lower priority first, then the largest
 * usage above request. Stable; returns a new array.
 */
export function rankForMemoryEviction(items: readonly PodMemoryUsage[]): PodMemoryUsage[] {
  return [...items].sort((a, b) => {
    const aFound = a.usageBytes !== undefined;
    const bFound = b.usageBytes !== undefined;
    if (aFound !== bFound) return aFound ? 1 : -1;
    const aExceeds = aFound && a.usageBytes! > a.requestBytes;
    const bExceeds = bFound && b.usageBytes! > b.requestBytes;
    if (aExceeds !== bExceeds) return aExceeds ? -1 : 1;
    const pa = a.pod.spec.priority ?? 0;
    const pb = b.pod.spec.priority ?? 0;
    if (pa !== pb) return pa - pb;
    if (!aFound) return 0;
    return b.usageBytes! - b.requestBytes - (a.usageBytes! - a.requestBytes);
  });
}

/**
 * Bytes as a Kubernetes quantity prints them (binary SI): the largest of Ki…Ei that divides exactly,
 * else plain bytes (209715200 → "200Mi", 1000 → "1000").
 */
export function formatBinaryQuantity(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes === 0) return String(bytes);
  const n = BigInt(bytes);
  for (const [suffix, shift] of [['Ei', 60n], ['Pi', 50n], ['Ti', 40n], ['Gi', 30n], ['Mi', 20n], ['Ki', 10n]] as const) {
    const unit = 1n << shift;
    if (n % unit === 0n) return `${n / unit}${suffix}`;
  }
  return String(bytes);
}

/** What {@link memoryEvictionMessage} reports. */
export interface EvictionMessageInput {
  pod: Pod;
  /** The threshold as printed: its value as written ("100Mi") or, for a percentage, the bytes. */
  thresholdText: string;
  availableBytes: number;
  /** Working set per container name, when known. */
  containerUsage?: Record<string, number>;
}

/**
 * The kubelet's eviction message for memory: "The node was low on resource: memory. Threshold
 * quantity: 100Mi, available: 80Mi. Container x was using 200Mi, request is 0, has larger
 * consumption of memory." — one sentence for each app container using more than it requested.
 */
export function memoryEvictionMessage(input: EvictionMessageInput): string {
  let msg = `The node was low on resource: memory. Threshold quantity: ${input.thresholdText}, available: ${formatBinaryQuantity(input.availableBytes)}. `;
  for (const c of input.pod.spec.containers) {
    const usage = input.containerUsage?.[c.name];
    if (usage === undefined) continue;
    const requestText = c.resources?.requests?.memory;
    const request = requestText === undefined ? 0 : memoryBytes(requestText);
    if (usage > request) {
      msg += `Container ${c.name} was using ${formatBinaryQuantity(usage)}, request is ${requestText ?? '0'}, has larger consumption of memory. `;
    }
  }
  return msg.trimEnd();
}
