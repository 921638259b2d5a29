/**
 * Hard memory eviction: --eviction-hard parsing, memory.available as the kubelet computes it, the
 * kubelet's pod ranking and messages, and the manager that evicts one pod per check.
 */
export {
  parseEvictionHard,
  thresholdBytes,
  EVICTION_SIGNALS,
  DEFAULT_EVICTION_HARD,
  type EvictionSignal,
  type EvictionThreshold,
} from './threshold.js';
export { memoryAvailableReader, parseMemTotal, type MemoryObservation, type MemoryAvailableOptions } from './memory-available.js';
export {
  rankForMemoryEviction,
  memoryEvictionMessage,
  formatBinaryQuantity,
  type PodMemoryUsage,
  type EvictionMessageInput,
} from './rank.js';
export { evictOne, thresholdText, SYSTEM_CRITICAL_PRIORITY, type EvictOneOptions } from './evict-one.js';
export {
  EvictionManager,
  DEFAULT_EVICTION_INTERVAL_MS,
  type EvictionManagerOptions,
} from './eviction-manager.js';
export {
  DiskEvictionManager,
  ephemeralStorageRequest,
  diskEvictionMessage,
  DEFAULT_PRESSURE_TRANSITION_MS,
  type DiskEvictionOptions,
  type DiskObservation,
  type DiskSignal,
} from './disk-eviction.js';
