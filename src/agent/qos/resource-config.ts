/*
 * Pure translation of pod and container resources into cgroup values, with the kubelet's own
 * arithmetic (pkg/kubelet/cm helpers and kuberuntime), so a pod gets the same cpu.shares, CFS quota,
 * memory limit and oom_score_adj under corelet as under a kubelet with the cgroupfs driver.
 */
import type { Container, Pod } from '../../api/index.js';
import { cpuMillis, memoryBytes, podLimits, podQosClass, podRequests } from '../../api/index.js';

/** The smallest cpu.shares the kernel accepts (and what BestEffort gets). */
export const MIN_SHARES = 2;
/** The largest cpu.shares the kernel accepts. */
export const MAX_SHARES = 262144;
/** The CFS period the kubelet uses, microseconds. */
export const CPU_PERIOD_US = 100000;
/** The smallest CFS quota the kernel accepts, microseconds. */
export const MIN_QUOTA_US = 1000;

/** oom_score_adj of Guaranteed containers (kubelet's guaranteedOOMScoreAdj). */
export const GUARANTEED_OOM_SCORE_ADJ = -997;
/** oom_score_adj of BestEffort containers. */
export const BEST_EFFORT_OOM_SCORE_ADJ = 1000;
/** The priority value of the system-node-critical class: such pods are treated as Guaranteed for OOM. */
export const SYSTEM_NODE_CRITICAL_PRIORITY = 2000001000;

/** CPU millicores → cpu.shares (1 CPU = 1024 shares), clamped to [2, 262144]; 0 gives the minimum. */
export function milliCpuToShares(millis: number): number {
  if (millis <= 0) return MIN_SHARES;
  const shares = Math.floor((millis * 1024) / 1000);
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, shares));
}

/** CPU millicores → CFS quota for period (µs); 0 millicores means no quota and gives 0. */
export function milliCpuToQuota(millis: number, period = CPU_PERIOD_US): number {
  if (millis <= 0) return 0;
  return Math.max(MIN_QUOTA_US, Math.floor((millis * period) / 1000));
}

/**
 * cgroup v1 cpu.shares → v2 cpu.weight, the conversion runc and the kubelet share: [2, 262144] maps
 * linearly onto [1, 10000].
 */
export function sharesToWeight(shares: number): number {
  const s = Math.min(MAX_SHARES, Math.max(MIN_SHARES, shares));
  return 1 + Math.floor(((s - 2) * 9999) / 262142);
}

/** Resources of one cgroup; an absent quota or memory limit means "unlimited". */
export interface CgroupResourceConfig {
  cpuShares: number;
  /** CFS quota per period (µs); absent: no quota. */
  cpuQuota?: number;
  /** CFS period (µs), set with the quota. */
  cpuPeriod?: number;
  /** Memory limit in bytes; absent: no limit. */
  memoryLimitBytes?: number;
}

/**
 * The pod-level cgroup values, as the kubelet's ResourceConfigForPod computes them: shares from the
 * pod's cpu requests; a CFS quota only when every container has a cpu limit and a memory limit only
 * when every container has a memory limit (podLimits leaves the others undefined: one unlimited
 * container must not be capped by its siblings' sum), which Guaranteed pods always have; BestEffort
 * pods get the minimum shares and nothing else.
 */
export function podResourceConfig(pod: Pod): CgroupResourceConfig {
  if (podQosClass(pod) === 'BestEffort') return { cpuShares: MIN_SHARES };
  const limits = podLimits(pod);
  const out: CgroupResourceConfig = { cpuShares: milliCpuToShares(podRequests(pod).cpuMillis) };
  const quota = milliCpuToQuota(limits.cpuMillis ?? 0);
  if (quota > 0) {
    out.cpuQuota = quota;
    out.cpuPeriod = CPU_PERIOD_US;
  }
  if ((limits.memoryBytes ?? 0) > 0) out.memoryLimitBytes = limits.memoryBytes;
  return out;
}

/**
 * The CRI LinuxContainerResources fields the agent sets in CreateContainer (proto field names), plus
 * the container's oom_score_adj.
 */
export interface ContainerResources {
  cpu_shares: number;
  /** 0: no quota. */
  cpu_quota: number;
  cpu_period: number;
  /** 0: no limit. */
  memory_limit_in_bytes: number;
  oom_score_adj: number;
}

/**
 * Container-level resources as the kubelet's kuberuntime computes them: shares from the cpu request
 * (from the limit when only a limit is set, as the API server would have defaulted it; minimum 2),
 * quota from the cpu limit over a 100 ms period, memory limit from the memory limit, and the
 * oom_score_adj of {@link containerOomScoreAdj}. memoryCapacityBytes is the node's memory capacity.
 */
export function containerResources(container: Container, pod: Pod, memoryCapacityBytes: number): ContainerResources {
  const req = container.resources?.requests ?? {};
  const lim = container.resources?.limits ?? {};
  const cpuLimit = lim.cpu === undefined ? undefined : cpuMillis(lim.cpu);
  const cpuRequest = req.cpu === undefined ? undefined : cpuMillis(req.cpu);
  const shares = cpuRequest === undefined && cpuLimit !== undefined ? milliCpuToShares(cpuLimit) : milliCpuToShares(cpuRequest ?? 0);
  return {
    cpu_shares: shares,
    cpu_quota: milliCpuToQuota(cpuLimit ?? 0),
    cpu_period: CPU_PERIOD_US,
    memory_limit_in_bytes: lim.memory === undefined ? 0 : memoryBytes(lim.memory),
    oom_score_adj: containerOomScoreAdj(pod, container, memoryCapacityBytes),
  };
}

/**
 * The kubelet's GetContainerOOMScoreAdjust: Guaranteed (and system-node-critical) containers -997,
 * BestEffort 1000, Burstable 1000 − 1000·memoryRequest/memoryCapacity (integer division), kept within
 * [3, 999] so a Burstable container always dies before any Guaranteed one and after any BestEffort
 * one.
 */
export function containerOomScoreAdj(pod: Pod, container: Container, memoryCapacityBytes: number): number {
  if ((pod.spec.priority ?? 0) >= SYSTEM_NODE_CRITICAL_PRIORITY) return GUARANTEED_OOM_SCORE_ADJ;
  const qos = podQosClass(pod);
  if (qos === 'Guaranteed') return GUARANTEED_OOM_SCORE_ADJ;
  if (qos === 'BestEffort') return BEST_EFFORT_OOM_SCORE_ADJ;
  const reqText = container.resources?.requests?.memory;
  const request = reqText === undefined ? 0 : memoryBytes(reqText);
  const adj = memoryCapacityBytes > 0 ? 1000 - Math.trunc((1000 * request) / memoryCapacityBytes) : BEST_EFFORT_OOM_SCORE_ADJ;
  if (adj < 1000 + GUARANTEED_OOM_SCORE_ADJ) return 1000 + GUARANTEED_OOM_SCORE_ADJ;
  if (adj >= BEST_EFFORT_OOM_SCORE_ADJ) return BEST_EFFORT_OOM_SCORE_ADJ - 1;
  return adj;
}
