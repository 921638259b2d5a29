/**
 * CRI ListMetricDescriptors / ListPodSandboxMetrics: the cAdvisor-named container_* metrics the
 * kubelet serves at /metrics/cadvisor when its stats come from the runtime (KEP-2371), with
 * cAdvisor's names, help and label keys. Values come from each container's cgroup (v1 or v2:
 * host/'s readCgroupMetrics), its processes in /proc (descriptors, sockets, threads), its writable
 * layer and the filesystem under it, and the pod's network namespace (the pause process's
 * /proc/PID/net/dev, reported at the pod level with container "POD", as cAdvisor reports the pause
 * container's network). CRI values are unsigned integers: seconds are whole seconds.
 */
import { statfs } from 'node:fs/promises';
import type { Metric, UnaryImpl } from '../../cri/index.js';
import { netnsInterfaces, processFigures, readCgroupMetrics, type CgroupMetrics, type InterfaceCounters } from '../../host/index.js';
import { unixNanos } from '../../lib/index.js';
import type { ContainerRecord, SandboxRecord } from '../store/index.js';
import { writableLayerUsage } from '../container/container-stats.js';
import type { RuntimeContext } from '../runtime-context.js';

type MetricType = 'COUNTER' | 'GAUGE';

interface Descriptor {
  help: string;
  type: MetricType;
  /** Label keys after the base ones. */
  extra?: readonly string[];
}

/** cAdvisor's label keys of every container metric. */
const BASE_LABELS = ['container', 'id', 'image', 'name', 'namespace', 'pod'] as const;

const c = (help: string, extra?: readonly string[]): Descriptor => ({ help, type: 'COUNTER', extra });
const g = (help: string, extra?: readonly string[]): Descriptor => ({ help, type: 'GAUGE', extra });
const IO = ['device', 'major', 'minor', 'operation'] as const;
const NET = ['interface'] as const;

/** Every metric corelet offers, by name (cAdvisor's help texts and extra labels). */
export const METRIC_DESCRIPTORS = {
  container_cpu_usage_seconds_total: c('Cumulative cpu time consumed in seconds.', ['cpu']),
  container_cpu_user_seconds_total: c('Cumulative user cpu time consumed in seconds.'),
  container_cpu_system_seconds_total: c('Cumulative system cpu time consumed in seconds.'),
  container_cpu_cfs_periods_total: c('Number of elapsed enforcement period intervals.'),
  container_cpu_cfs_throttled_periods_total: c('Number of throttled period intervals.'),
  container_cpu_cfs_throttled_seconds_total: c('Total time duration the container has been throttled.'),
  container_memory_usage_bytes: g('Current memory usage in bytes, including all memory regardless of when it was accessed'),
  container_memory_max_usage_bytes: g('Maximum memory usage recorded in bytes'),
  container_memory_working_set_bytes: g('Current working set in bytes.'),
  container_memory_rss: g('Size of RSS in bytes.'),
  container_memory_cache: g('Number of bytes of page cache memory.'),
  container_memory_mapped_file: g('Size of memory mapped files in bytes.'),
  container_memory_swap: g('Container swap usage in bytes.'),
  container_memory_kernel_usage: g('Size of kernel memory allocated in bytes.'),
  container_memory_failcnt: c('Number of memory usage hits limits'),
  container_memory_failures_total: c('Cumulative count of memory allocation failures.', ['failure_type', 'scope']),
  container_oom_events_total: c('Count of out of memory events observed for the container'),
  container_spec_cpu_period: g('CPU period of the container.'),
  container_spec_cpu_quota: g('CPU quota of the container.'),
  container_spec_cpu_shares: g('CPU share of the container.'),
  container_spec_memory_limit_bytes: g('Memory limit for the container.'),
  container_spec_memory_swap_limit_bytes: g('Memory swap limit for the container.'),
  container_spec_memory_reservation_limit_bytes: g('Memory reservation limit for the container.'),
  container_processes: g('Number of processes running inside the container.'),
  container_threads: g('Number of threads running inside the container'),
  container_threads_max: g('Maximum number of threads allowed inside the container, infinity if value is zero'),
  container_file_descriptors: g('Number of open file descriptors for the container.'),
  container_sockets: g('Number of open sockets for the container.'),
  container_start_time_seconds: g('Start time of the container since unix epoch in seconds.'),
  container_last_seen: g('Last time a container was seen by the exporter'),
  container_fs_usage_bytes: g('Number of bytes that are consumed by the container on this filesystem.', ['device']),
  container_fs_limit_bytes: g('Number of bytes that can be consumed by the container on this filesystem.', ['device']),
  container_fs_inodes_total: g('Number of Inodes', ['device']),
  container_fs_inodes_free: g('Number of available Inodes', ['device']),
  container_fs_reads_bytes_total: c('Cumulative count of bytes read', ['device']),
  container_fs_reads_total: c('Cumulative count of reads completed', ['device']),
  container_fs_writes_bytes_total: c('Cumulative count of bytes written', ['device']),
  container_fs_writes_total: c('Cumulative count of writes completed', ['device']),
  container_blkio_device_usage_total: c('Blkio Device bytes usage', IO),
  container_network_receive_bytes_total: c('Cumulative count of bytes received', NET),
  container_network_receive_packets_total: c('Cumulative count of packets received', NET),
  container_network_receive_errors_total: c('Cumulative count of errors encountered while receiving', NET),
  container_network_receive_packets_dropped_total: c('Cumulative count of packets dropped while receiving', NET),
  container_network_transmit_bytes_total: c('Cumulative count of bytes transmitted', NET),
  container_network_transmit_packets_total: c('Cumulative count of packets transmitted', NET),
  container_network_transmit_errors_total: c('Cumulative count of errors encountered while transmitting', NET),
  container_network_transmit_packets_dropped_total: c('Cumulative count of packets dropped while transmitting', NET),
} as const satisfies Record<string, Descriptor>;

export type MetricName = keyof typeof METRIC_DESCRIPTORS;

/** The label keys of a metric: the base ones, then its own. */
export function labelKeys(name: MetricName): string[] {
  const d: Descriptor = METRIC_DESCRIPTORS[name];
  return [...BASE_LABELS, ...(d.extra ?? [])];
}

export const listMetricDescriptors = (_rt: RuntimeContext): UnaryImpl<'ListMetricDescriptors'> => async () => ({
  descriptors: (Object.keys(METRIC_DESCRIPTORS) as MetricName[]).map((name) => ({ name, help: METRIC_DESCRIPTORS[name].help, label_keys: labelKeys(name) })),
});

/** One sample: a metric, its extra label values (after the base ones) and its value. */
export interface Sample {
  name: MetricName;
  extra?: string[];
  value: number;
}

/** What a container's samples are made of (all read before; pure from here). */
export interface ContainerFigures {
  cgroup: CgroupMetrics;
  processes: { count: number; fileDescriptors: number; sockets: number; threads: number };
  /** Writable layer usage and the filesystem it is on; undefined when unreadable. */
  fs?: { device: string; usedBytes: number; limitBytes: number; inodesTotal: number; inodesFree: number };
  startedAtSeconds: number;
  nowSeconds: number;
}

/** A container's samples from its figures (pure): one per metric but the per-device/-kind ones. */
export function containerSamples(f: ContainerFigures): Sample[] {
  const { cpu, memory, spec, pids, blkio } = f.cgroup;
  const sec = (nanos: number) => Math.floor(nanos / 1e9);
  const out: Sample[] = [
    { name: 'container_cpu_usage_seconds_total', extra: ['total'], value: sec(cpu.usageNanos) },
    { name: 'container_cpu_user_seconds_total', value: sec(cpu.userNanos) },
    { name: 'container_cpu_system_seconds_total', value: sec(cpu.systemNanos) },
    { name: 'container_cpu_cfs_periods_total', value: cpu.periods },
    { name: 'container_cpu_cfs_throttled_periods_total', value: cpu.throttledPeriods },
    { name: 'container_cpu_cfs_throttled_seconds_total', value: sec(cpu.throttledNanos) },
    { name: 'container_memory_usage_bytes', value: memory.usage },
    { name: 'container_memory_max_usage_bytes', value: memory.maxUsage },
    { name: 'container_memory_working_set_bytes', value: memory.workingSet },
    { name: 'container_memory_rss', value: memory.rss },
    { name: 'container_memory_cache', value: memory.cache },
    { name: 'container_memory_mapped_file', value: memory.mappedFile },
    { name: 'container_memory_swap', value: memory.swap },
    { name: 'container_memory_kernel_usage', value: memory.kernel },
    { name: 'container_memory_failcnt', value: memory.failcnt },
    { name: 'container_memory_failures_total', extra: ['pgfault', 'container'], value: memory.pgfault.container },
    { name: 'container_memory_failures_total', extra: ['pgfault', 'hierarchy'], value: memory.pgfault.hierarchy },
    { name: 'container_memory_failures_total', extra: ['pgmajfault', 'container'], value: memory.pgmajfault.container },
    { name: 'container_memory_failures_total', extra: ['pgmajfault', 'hierarchy'], value: memory.pgmajfault.hierarchy },
    { name: 'container_oom_events_total', value: memory.oomKills },
    // cAdvisor: a missing limit is 0 (its "unlimited").
    { name: 'container_spec_cpu_period', value: spec.cpuPeriod ?? 0 },
    { name: 'container_spec_cpu_shares', value: spec.cpuShares ?? 0 },
    { name: 'container_spec_memory_limit_bytes', value: spec.memoryLimit ?? 0 },
    { name: 'container_spec_memory_swap_limit_bytes', value: spec.memorySwapLimit ?? 0 },
    { name: 'container_processes', value: f.processes.count },
    { name: 'container_threads', value: f.processes.threads },
    { name: 'container_threads_max', value: pids.max ?? 0 },
    { name: 'container_file_descriptors', value: f.processes.fileDescriptors },
    { name: 'container_sockets', value: f.processes.sockets },
    { name: 'container_start_time_seconds', value: f.startedAtSeconds },
    { name: 'container_last_seen', value: f.nowSeconds },
  ];
  // cAdvisor reports these two only when they are set.
  if (spec.cpuQuota !== undefined) out.push({ name: 'container_spec_cpu_quota', value: spec.cpuQuota });
  if (spec.memoryReservation !== undefined) out.push({ name: 'container_spec_memory_reservation_limit_bytes', value: spec.memoryReservation });
  if (f.fs) {
    const dev = [f.fs.device];
    out.push(
      { name: 'container_fs_usage_bytes', extra: dev, value: f.fs.usedBytes },
      { name: 'container_fs_limit_bytes', extra: dev, value: f.fs.limitBytes },
      { name: 'container_fs_inodes_total', extra: dev, value: f.fs.inodesTotal },
      { name: 'container_fs_inodes_free', extra: dev, value: f.fs.inodesFree },
    );
  }
  for (const d of blkio) {
    const device = `${d.major}:${d.minor}`;
    const ids = [device, String(d.major), String(d.minor)];
    out.push(
      { name: 'container_fs_reads_bytes_total', extra: [device], value: d.readBytes },
      { name: 'container_fs_reads_total', extra: [device], value: d.reads },
      { name: 'container_fs_writes_bytes_total', extra: [device], value: d.writeBytes },
      { name: 'container_fs_writes_total', extra: [device], value: d.writes },
      { name: 'container_blkio_device_usage_total', extra: [...ids, 'Read'], value: d.readBytes },
      { name: 'container_blkio_device_usage_total', extra: [...ids, 'Write'], value: d.writeBytes },
    );
  }
  return out;
}

/** The pod's network samples, one set per interface of its network namespace (pure). */
export function networkSamples(interfaces: readonly InterfaceCounters[]): Sample[] {
  return interfaces.flatMap((i) => {
    const extra = [i.name];
    return [
      { name: 'container_network_receive_bytes_total', extra, value: i.rxBytes },
      { name: 'container_network_receive_packets_total', extra, value: i.rxPackets },
      { name: 'container_network_receive_errors_total', extra, value: i.rxErrors },
      { name: 'container_network_receive_packets_dropped_total', extra, value: i.rxDropped },
      { name: 'container_network_transmit_bytes_total', extra, value: i.txBytes },
      { name: 'container_network_transmit_packets_total', extra, value: i.txPackets },
      { name: 'container_network_transmit_errors_total', extra, value: i.txErrors },
      { name: 'container_network_transmit_packets_dropped_total', extra, value: i.txDropped },
    ] satisfies Sample[];
  });
}

/** CRI Metrics of samples, with the base label values. */
export function toCriMetrics(samples: readonly Sample[], base: readonly string[], timestamp: string): Metric[] {
  return samples.map((s) => ({
    name: s.name,
    timestamp,
    metric_type: METRIC_DESCRIPTORS[s.name].type,
    label_values: [...base, ...(s.extra ?? [])],
    value: { value: Math.max(0, Math.floor(s.value)) },
  }));
}

async function containerMetrics(rt: RuntimeContext, sb: SandboxRecord, rec: ContainerRecord, device: string): Promise<Metric[]> {
  const cgroup = await readCgroupMetrics(rt.cgroups, rec.cgroupsPath);
  if (!cgroup) return [];
  const pids = await rt.cgroups.pids(rec.cgroupsPath, { recursive: true }).catch(() => [] as number[]);
  const [procs, layer, fsStat] = await Promise.all([
    processFigures(pids),
    writableLayerUsage({ cgroups: rt.cgroups, store: rt.deps.store, images: rt.images }, rec.id),
    statfs(rt.deps.store.dir('containers', rec.id)).catch(() => undefined),
  ]);
  const samples = containerSamples({
    cgroup,
    processes: { count: pids.length, ...procs },
    fs: fsStat && {
      device,
      usedBytes: layer.bytes,
      limitBytes: fsStat.blocks * fsStat.bsize,
      inodesTotal: fsStat.files,
      inodesFree: fsStat.ffree,
    },
    startedAtSeconds: Math.floor(Number(BigInt(rec.startedAt || '0') / 1_000_000_000n)),
    nowSeconds: Math.floor(cgroup.timestampMs / 1000),
  });
  const base = [rec.config.metadata?.name ?? '', rec.id, rec.imageName, rec.name, sb.config.metadata?.namespace ?? '', sb.config.metadata?.name ?? ''];
  return toCriMetrics(samples, base, unixNanos(cgroup.timestampMs));
}

export const listPodSandboxMetrics = (rt: RuntimeContext): UnaryImpl<'ListPodSandboxMetrics'> => async () => {
  const sandboxes = rt.deps.store.listSandboxes().filter((s) => s.state === 'ready');
  const { mountpoint } = await rt.images.fsInfo();
  return {
    pod_metrics: await Promise.all(
      sandboxes.map(async (sb) => {
        const containers = rt.deps.store.listContainers().filter((c) => c.sandboxId === sb.id && c.state === 'running');
        const at = Date.now();
        const interfaces = sb.netnsPath && sb.pausePid ? await netnsInterfaces(sb.pausePid) : [];
        const podBase = ['POD', sb.id, rt.deps.config.pauseImage, sb.name, sb.config.metadata?.namespace ?? '', sb.config.metadata?.name ?? ''];
        return {
          pod_sandbox_id: sb.id,
          metrics: toCriMetrics(networkSamples(interfaces), podBase, unixNanos(at)),
          container_metrics: await Promise.all(containers.map(async (c) => ({ container_id: c.id, metrics: await containerMetrics(rt, sb, c, mountpoint) }))),
        };
      }),
    ),
  };
};
