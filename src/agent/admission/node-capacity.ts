import { cpus, totalmem } from 'node:os';
import { thresholdBytes, type EvictionThreshold } from '../eviction/index.js';
import type { ResourceList } from './resource-list.js';

/** The kubelet's default --max-pods. */
export const DEFAULT_MAX_PODS = 110;

/** What a node offers to pods: cpu, memory and a number of pods. */
export interface NodeResources {
  cpuMillis: number;
  memoryBytes: number;
  pods: number;
}

/** The two host facts capacity needs (injectable for tests). */
export interface SystemInfoSource {
  cpu(): Promise<{ cores: number }>;
  mem(): Promise<{ total: number }>;
}

/**
 * The host's, from Node's os module: the logical CPUs online (/proc/cpuinfo's entries, what
 * systeminformation's cores counted) and MemTotal. systeminformation answered the same from the same
 * calls after spawning lscpu and loading 1.8 MiB of heap in every agent.
 */
const HOST: SystemInfoSource = {
  cpu: async () => ({ cores: cpus().length }),
  mem: async () => ({ total: totalmem() }),
};

/**
 * The node's capacity: every logical CPU (as cAdvisor counts them) in millicores, total memory
 * (MemTotal), and maxPods.
 */
export async function readNodeCapacity(opts: { si?: SystemInfoSource; maxPods?: number } = {}): Promise<NodeResources> {
  const si = opts.si ?? HOST;
  const [cpu, mem] = await Promise.all([si.cpu(), si.mem()]);
  return { cpuMillis: cpu.cores * 1000, memoryBytes: mem.total, pods: opts.maxPods ?? DEFAULT_MAX_PODS };
}

/** Inputs of {@link computeAllocatable}. */
export interface AllocatableInputs {
  capacity: NodeResources;
  systemReserved?: ResourceList;
  kubeReserved?: ResourceList;
  /** Hard eviction thresholds: the memory.available one is reserved too. */
  evictionHard?: EvictionThreshold[];
}

/**
 * Node allocatable as the kubelet computes it: capacity − kube-reserved − system-reserved − the hard
 * eviction threshold for memory (so pods are never admitted into memory the eviction manager would
 * immediately reclaim), floored at 0. Without evictionHard this is also what the kubelet limits the
 * top-level kubepods cgroup to (it does not subtract the eviction threshold there).
 */
export function computeAllocatable(inputs: AllocatableInputs): NodeResources {
  const { capacity } = inputs;
  const reserved = { cpuMillis: 0, memoryBytes: 0 };
  for (const r of [inputs.systemReserved, inputs.kubeReserved]) {
    if (!r) continue;
    reserved.cpuMillis += r.cpuMillis;
    reserved.memoryBytes += r.memoryBytes;
  }
  for (const t of inputs.evictionHard ?? []) {
    if (t.signal === 'memory.available') reserved.memoryBytes += thresholdBytes(t, capacity.memoryBytes);
  }
  return {
    cpuMillis: Math.max(0, capacity.cpuMillis - reserved.cpuMillis),
    memoryBytes: Math.max(0, capacity.memoryBytes - reserved.memoryBytes),
    pods: capacity.pods,
  };
}
