/**
 * QoS cgroups as the kubelet's cgroupfs driver lays them out (kubepods, burstable, besteffort, one
 * cgroup per pod) and the pure pod/container resource arithmetic behind them.
 */
export {
  QosCgroupManager,
  ORPHAN_POD_CGROUP_MIN_AGE_MS,
  type QosCgroupManagerOptions,
  type AllocatableResources,
  type CgroupRemoveResult,
} from './qos-cgroup-manager.js';
export {
  containerResources,
  containerOomScoreAdj,
  podResourceConfig,
  milliCpuToShares,
  milliCpuToQuota,
  sharesToWeight,
  MIN_SHARES,
  MAX_SHARES,
  CPU_PERIOD_US,
  MIN_QUOTA_US,
  GUARANTEED_OOM_SCORE_ADJ,
  BEST_EFFORT_OOM_SCORE_ADJ,
  SYSTEM_NODE_CRITICAL_PRIORITY,
  type ContainerResources,
  type CgroupResourceConfig,
} from './resource-config.js';
