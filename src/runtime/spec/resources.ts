/**
 * cgroup resources and oom_score_adj from CRI LinuxContainerResources.
 */
import { invalidArgument } from '../../lib/index.js';
import type { LinuxContainerResources__Output } from '../../cri/index.js';
import type { OciResources } from './types.js';

/**
 * A CRI int64 (a decimal string on the wire) as a number. Values beyond 2^53 would be silently
 * rounded by JSON and then rejected by runc as out of range, so they are refused here.
 */
export function int64(value: string | number | undefined | null, field: string): number {
  if (value === undefined || value === null || value === '') return 0;
  const s = String(value).trim();
  if (!/^-?\d+$/.test(s)) throw invalidArgument(`${field}: "${s}" is not an integer`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw invalidArgument(`${field}: ${s} is out of range`);
  return n;
}

/** Options of toOciResources that depend on the host. */
export interface ResourceOptions {
  /** cgroup v2 host: `unified` applies (runc rejects it on v1, so it is dropped there). */
  cgroupV2: boolean;
  /** memory+swap accounting exists; without it no swap limit is written. Default true. */
  swapAvailable?: boolean;
  /** The hugetlb controller exists; without it hugepage limits are dropped. Default true. */
  hugetlbAvailable?: boolean;
}

/**
 * The OCI cpu, memory, hugepage and unified resources (zero means "not set" in CRI). A memory
 * limit also caps memory+swap at the same value unless memory_swap_limit_in_bytes says otherwise,
 * so containers do not swap (containerd's default). Device rules are left empty for the caller.
 * Also the body of an UpdateContainerResources call.
 */
export function toOciResources(r: LinuxContainerResources__Output | null | undefined, opts: ResourceOptions): OciResources {
  const out: OciResources = { devices: [], memory: {}, cpu: {} };
  if (!r) return out;
  const shares = int64(r.cpu_shares, 'cpu_shares');
  const quota = int64(r.cpu_quota, 'cpu_quota');
  const period = int64(r.cpu_period, 'cpu_period');
  const limit = int64(r.memory_limit_in_bytes, 'memory_limit_in_bytes');
  const swap = int64(r.memory_swap_limit_in_bytes, 'memory_swap_limit_in_bytes');
  if (shares < 0) throw invalidArgument(`cpu_shares must not be negative, got ${shares}`);
  if (period < 0) throw invalidArgument(`cpu_period must not be negative, got ${period}`);
  if (shares) out.cpu.shares = shares;
  if (quota) out.cpu.quota = quota;
  if (period) out.cpu.period = period;
  if (r.cpuset_cpus) out.cpu.cpus = r.cpuset_cpus;
  if (r.cpuset_mems) out.cpu.mems = r.cpuset_mems;
  const swapAvailable = opts.swapAvailable ?? true;
  if (limit) {
    out.memory.limit = limit;
    if (!swap && swapAvailable) out.memory.swap = limit;
  }
  if (swap && swapAvailable) out.memory.swap = swap;
  if ((opts.hugetlbAvailable ?? true) && r.hugepage_limits?.length) {
    out.hugepageLimits = r.hugepage_limits.map((h) => ({ pageSize: h.page_size, limit: int64(h.limit, 'hugepage limit') }));
  }
  if (opts.cgroupV2 && r.unified && Object.keys(r.unified).length > 0) out.unified = { ...r.unified };
  return out;
}

/**
 * The oom_score_adj to give a process: the requested one, raised to the runtime's own. The runtime
 * (root without CAP_SYS_RESOURCE) cannot lower a child's score below its own, and runc would fail.
 */
export function clampOomScoreAdj(requested: number, minOomScoreAdj: number): number {
  const v = Math.max(-1000, Math.min(1000, requested));
  return Math.max(v, minOomScoreAdj);
}
