/**
 * The detailed figures of one cgroup that cAdvisor's container_* metrics carry (CRI
 * ListPodSandboxMetrics): CPU time split and CFS throttling, memory by kind, limits, pids and block
 * I/O, from the v1 controller files or the v2 unified ones (kernel Documentation/admin-guide
 * cgroup-v1/ and cgroup-v2.rst). Every file is optional: a controller that is not mounted or a file
 * an older kernel lacks reads as zero (or an absent limit).
 */
import { join } from 'node:path';
import { readFileIfExists } from '../../lib/index.js';
import type { Cgroups } from './cgroups.js';
import { parseBlkioV1, parseCpuMax, parseFlatKeyed, parseIoStatV2, parseSingleValue, type BlkioDevice } from './parse.js';

/** v1 cpuacct.stat counts USER_HZ ticks (100 a second on Linux). */
const NANOS_PER_TICK = 1e7;

export interface CgroupMetrics {
  cpu: {
    usageNanos: number;
    userNanos: number;
    systemNanos: number;
    /** CFS periods elapsed, periods throttled, time throttled. */
    periods: number;
    throttledPeriods: number;
    throttledNanos: number;
  };
  memory: {
    usage: number;
    /** Highest usage seen (v1 max_usage_in_bytes, v2 memory.peak; else the current usage). */
    maxUsage: number;
    workingSet: number;
    rss: number;
    cache: number;
    mappedFile: number;
    swap: number;
    kernel: number;
    /** Times the limit was hit (v1 failcnt, v2 memory.events max). */
    failcnt: number;
    /** Page faults in this cgroup only and in its hierarchy (v2 has the hierarchy figure only). */
    pgfault: { container: number; hierarchy: number };
    pgmajfault: { container: number; hierarchy: number };
    oomKills: number;
  };
  /** Limits: undefined when none is set. */
  spec: {
    cpuShares?: number;
    cpuPeriod?: number;
    cpuQuota?: number;
    memoryLimit?: number;
    memorySwapLimit?: number;
    memoryReservation?: number;
  };
  pids: { current: number; max?: number };
  blkio: BlkioDevice[];
  timestampMs: number;
}

/** The figures of cgroupsPath, or undefined when the cgroup does not exist (any more). */
export async function readCgroupMetrics(cgroups: Cgroups, cgroupsPath: string): Promise<CgroupMetrics | undefined> {
  if (!(await cgroups.exists(cgroupsPath))) return undefined;
  return cgroups.mode === 'v2' ? readV2(cgroups, cgroupsPath) : readV1(cgroups, cgroupsPath);
}

async function file(dir: string | undefined, name: string): Promise<string> {
  return dir === undefined ? '' : ((await readFileIfExists(join(dir, name))) ?? '');
}

const num = (text: string) => parseSingleValue(text) ?? 0;

async function readV1(cgroups: Cgroups, path: string): Promise<CgroupMetrics> {
  const [cpuacct, cpu, memory, pids, blkio] = await Promise.all(
    ['cpuacct', 'cpu', 'memory', 'pids', 'blkio'].map((c) => cgroups.controllerPath(c, path)),
  );
  const timestampMs = Date.now();
  const [usage, acctStat, cpuStat, shares, period, quota] = await Promise.all([
    file(cpuacct, 'cpuacct.usage'),
    file(cpuacct, 'cpuacct.stat'),
    file(cpu, 'cpu.stat'),
    file(cpu, 'cpu.shares'),
    file(cpu, 'cpu.cfs_period_us'),
    file(cpu, 'cpu.cfs_quota_us'),
  ]);
  const [memUsage, memMax, memStat, failcnt, kmem, limit, memsw, soft, oom] = await Promise.all(
    [
      'memory.usage_in_bytes',
      'memory.max_usage_in_bytes',
      'memory.stat',
      'memory.failcnt',
      'memory.kmem.usage_in_bytes',
      'memory.limit_in_bytes',
      'memory.memsw.limit_in_bytes',
      'memory.soft_limit_in_bytes',
      'memory.oom_control',
    ].map((f) => file(memory, f)),
  );
  const [pidsCurrent, pidsMax, ioBytes, ios] = await Promise.all([
    file(pids, 'pids.current'),
    file(pids, 'pids.max'),
    file(blkio, 'blkio.throttle.io_service_bytes_recursive'),
    file(blkio, 'blkio.throttle.io_serviced_recursive'),
  ]);
  const acct = parseFlatKeyed(acctStat);
  const cs = parseFlatKeyed(cpuStat);
  const ms = parseFlatKeyed(memStat);
  // total_* counts descendants too (a pod's cgroup holds only child cgroups).
  const total = (k: string) => ms.get(`total_${k}`) ?? ms.get(k) ?? 0;
  const usageBytes = num(memUsage);
  const quotaUs = Number(quota.trim());
  return {
    cpu: {
      usageNanos: num(usage),
      userNanos: (acct.get('user') ?? 0) * NANOS_PER_TICK,
      systemNanos: (acct.get('system') ?? 0) * NANOS_PER_TICK,
      periods: cs.get('nr_periods') ?? 0,
      throttledPeriods: cs.get('nr_throttled') ?? 0,
      throttledNanos: cs.get('throttled_time') ?? 0,
    },
    memory: {
      usage: usageBytes,
      maxUsage: parseSingleValue(memMax) ?? usageBytes,
      workingSet: Math.max(0, usageBytes - total('inactive_file')),
      rss: total('rss'),
      cache: total('cache'),
      mappedFile: total('mapped_file'),
      swap: total('swap'),
      kernel: num(kmem),
      failcnt: num(failcnt),
      pgfault: { container: ms.get('pgfault') ?? 0, hierarchy: total('pgfault') },
      pgmajfault: { container: ms.get('pgmajfault') ?? 0, hierarchy: total('pgmajfault') },
      oomKills: parseFlatKeyed(oom).get('oom_kill') ?? 0,
    },
    spec: {
      cpuShares: parseSingleValue(shares),
      cpuPeriod: parseSingleValue(period),
      // -1 is v1's "no quota".
      cpuQuota: Number.isFinite(quotaUs) && quotaUs > 0 ? quotaUs : undefined,
      memoryLimit: parseSingleValue(limit),
      memorySwapLimit: parseSingleValue(memsw),
      memoryReservation: parseSingleValue(soft),
    },
    pids: { current: num(pidsCurrent), max: parseSingleValue(pidsMax) },
    blkio: parseBlkioV1(ioBytes, ios),
    timestampMs,
  };
}

/** cAdvisor's v2 weight → v1 shares conversion (the inverse of runc's shares → weight). */
export function weightToShares(weight: number): number {
  return Math.round(2 + ((weight - 1) * 262142) / 9999);
}

async function readV2(cgroups: Cgroups, path: string): Promise<CgroupMetrics> {
  const dir = join(cgroups.root, path);
  const timestampMs = Date.now();
  const names = [
    'cpu.stat',
    'cpu.weight',
    'cpu.max',
    'memory.current',
    'memory.peak',
    'memory.stat',
    'memory.events',
    'memory.swap.current',
    'memory.max',
    'memory.swap.max',
    'memory.low',
    'pids.current',
    'pids.max',
    'io.stat',
  ] as const;
  const texts = await Promise.all(names.map((n) => file(dir, n)));
  const f = Object.fromEntries(names.map((n, i) => [n, texts[i]!])) as Record<(typeof names)[number], string>;
  const cs = parseFlatKeyed(f['cpu.stat']);
  const ms = parseFlatKeyed(f['memory.stat']);
  const events = parseFlatKeyed(f['memory.events']);
  const usage = num(f['memory.current']);
  const weight = parseSingleValue(f['cpu.weight']);
  const { quota, period } = parseCpuMax(f['cpu.max']);
  const m = (k: string) => ms.get(k) ?? 0;
  return {
    cpu: {
      usageNanos: (cs.get('usage_usec') ?? 0) * 1000,
      userNanos: (cs.get('user_usec') ?? 0) * 1000,
      systemNanos: (cs.get('system_usec') ?? 0) * 1000,
      periods: cs.get('nr_periods') ?? 0,
      throttledPeriods: cs.get('nr_throttled') ?? 0,
      throttledNanos: (cs.get('throttled_usec') ?? 0) * 1000,
    },
    memory: {
      usage,
      maxUsage: parseSingleValue(f['memory.peak']) ?? usage,
      workingSet: Math.max(0, usage - m('inactive_file')),
      rss: m('anon'),
      cache: m('file'),
      mappedFile: m('file_mapped'),
      swap: num(f['memory.swap.current']),
      // "kernel" since Linux 5.18; before, its main parts.
      kernel: ms.get('kernel') ?? m('kernel_stack') + m('slab') + m('sock') + m('percpu'),
      failcnt: events.get('max') ?? 0,
      pgfault: { container: m('pgfault'), hierarchy: m('pgfault') },
      pgmajfault: { container: m('pgmajfault'), hierarchy: m('pgmajfault') },
      oomKills: events.get('oom_kill') ?? 0,
    },
    spec: {
      cpuShares: weight === undefined ? undefined : weightToShares(weight),
      cpuPeriod: period,
      cpuQuota: quota,
      memoryLimit: parseSingleValue(f['memory.max']),
      memorySwapLimit: parseSingleValue(f['memory.swap.max']),
      memoryReservation: parseSingleValue(f['memory.low']) || undefined,
    },
    pids: { current: num(f['pids.current']), max: parseSingleValue(f['pids.max']) },
    blkio: parseIoStatV2(f['io.stat']),
    timestampMs,
  };
}
