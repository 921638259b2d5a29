import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CgroupMetrics } from '../../../src/host/index.js';
import { containerSamples, labelKeys, METRIC_DESCRIPTORS, networkSamples, toCriMetrics, type ContainerFigures, type MetricName } from '../../../src/runtime/service/metrics.js';

/**
 * The names critest v1.37.0 expects (pkg/validate/pod.go expectedMetricDescriptorNames) but those it
 * lists as not implemented by every runtime (hugetlb, pressure, ulimits; corelet offers cpu_quota and
 * memory reservation anyway).
 */
const CRITEST_EXPECTED = [
  'container_blkio_device_usage_total', 'container_cpu_cfs_periods_total', 'container_cpu_cfs_throttled_periods_total',
  'container_cpu_cfs_throttled_seconds_total', 'container_cpu_system_seconds_total', 'container_cpu_usage_seconds_total',
  'container_cpu_user_seconds_total', 'container_file_descriptors', 'container_fs_inodes_free', 'container_fs_inodes_total',
  'container_fs_limit_bytes', 'container_fs_reads_bytes_total', 'container_fs_reads_total', 'container_fs_usage_bytes',
  'container_fs_writes_bytes_total', 'container_fs_writes_total', 'container_last_seen', 'container_memory_cache',
  'container_memory_failcnt', 'container_memory_failures_total', 'container_memory_kernel_usage', 'container_memory_mapped_file',
  'container_memory_max_usage_bytes', 'container_memory_rss', 'container_memory_swap', 'container_memory_usage_bytes',
  'container_memory_working_set_bytes', 'container_network_receive_bytes_total', 'container_network_receive_errors_total',
  'container_network_receive_packets_dropped_total', 'container_network_receive_packets_total', 'container_network_transmit_bytes_total',
  'container_network_transmit_errors_total', 'container_network_transmit_packets_dropped_total', 'container_network_transmit_packets_total',
  'container_oom_events_total', 'container_processes', 'container_sockets', 'container_spec_cpu_period', 'container_spec_cpu_quota',
  'container_spec_cpu_shares', 'container_spec_memory_limit_bytes', 'container_spec_memory_reservation_limit_bytes',
  'container_spec_memory_swap_limit_bytes', 'container_start_time_seconds', 'container_threads', 'container_threads_max',
];

function cgroup(over: Partial<CgroupMetrics> = {}): CgroupMetrics {
  return {
    cpu: { usageNanos: 2.7e9, userNanos: 1.2e9, systemNanos: 1.5e9, periods: 40, throttledPeriods: 7, throttledNanos: 3e9 },
    memory: {
      usage: 100, maxUsage: 200, workingSet: 90, rss: 50, cache: 10, mappedFile: 5, swap: 0, kernel: 7, failcnt: 1,
      pgfault: { container: 3, hierarchy: 4 }, pgmajfault: { container: 0, hierarchy: 1 }, oomKills: 2,
    },
    spec: { cpuShares: 1024, cpuPeriod: 100000, cpuQuota: 20000, memoryLimit: 67108864, memorySwapLimit: 67108864, memoryReservation: 1000 },
    pids: { current: 2, max: undefined },
    blkio: [{ major: 8, minor: 0, readBytes: 4096, writeBytes: 8192, reads: 1, writes: 2 }],
    timestampMs: 1_700_000_000_500,
    ...over,
  };
}

const figures = (over: Partial<ContainerFigures> = {}): ContainerFigures => ({
  cgroup: cgroup(),
  processes: { count: 2, fileDescriptors: 6, sockets: 1, threads: 3 },
  fs: { device: '/', usedBytes: 16384, limitBytes: 1e9, inodesTotal: 1000, inodesFree: 900 },
  startedAtSeconds: 1_699_999_990,
  nowSeconds: 1_700_000_000,
  ...over,
});

const interfaces = [{ name: 'eth0', rxBytes: 1096, rxPackets: 12, rxErrors: 0, rxDropped: 0, txBytes: 796, txPackets: 10, txErrors: 0, txDropped: 0 }];

test('every name critest v1.37 expects has a descriptor with help and label keys', () => {
  for (const name of CRITEST_EXPECTED) {
    const d = METRIC_DESCRIPTORS[name as MetricName];
    assert.ok(d, `${name} is offered`);
    assert.ok(d.help.length > 0 && labelKeys(name as MetricName).length > 0);
  }
});

test('a container with every figure and a pod with a network give a sample of every descriptor, with as many label values as keys', () => {
  const base = ['app', 'id1', 'busybox', 'app_pod_ns_uid_0_0', 'ns', 'pod'];
  const metrics = [...toCriMetrics(containerSamples(figures()), base, '1'), ...toCriMetrics(networkSamples(interfaces), base, '1')];
  const seen = new Set(metrics.map((m) => m.name));
  assert.deepEqual(Object.keys(METRIC_DESCRIPTORS).filter((n) => !seen.has(n)), [], 'no descriptor without a sample');
  for (const m of metrics) {
    assert.equal(m.label_values?.length, labelKeys(m.name as MetricName).length, `${m.name}: ${JSON.stringify(m.label_values)}`);
    assert.equal(m.metric_type, METRIC_DESCRIPTORS[m.name as MetricName].type);
  }
});

test('values: whole seconds, limits as set, zero for no limit, failures by kind and scope', () => {
  const byName = (samples: ReturnType<typeof containerSamples>, name: string) => samples.filter((s) => s.name === name);
  const s = containerSamples(figures({ cgroup: cgroup({ spec: {}, pids: { current: 1, max: 512 } }) }));
  assert.deepEqual(byName(s, 'container_cpu_usage_seconds_total'), [{ name: 'container_cpu_usage_seconds_total', extra: ['total'], value: 2 }]);
  assert.equal(byName(s, 'container_cpu_cfs_throttled_seconds_total')[0]!.value, 3);
  assert.equal(byName(s, 'container_spec_memory_limit_bytes')[0]!.value, 0, 'no limit is 0, as cAdvisor');
  assert.deepEqual(byName(s, 'container_spec_cpu_quota'), [], 'no quota: no sample, as cAdvisor');
  assert.equal(byName(s, 'container_threads_max')[0]!.value, 512);
  assert.deepEqual(
    byName(s, 'container_memory_failures_total').map((x) => [...x.extra!, x.value]),
    [['pgfault', 'container', 3], ['pgfault', 'hierarchy', 4], ['pgmajfault', 'container', 0], ['pgmajfault', 'hierarchy', 1]],
  );
  assert.deepEqual(byName(s, 'container_blkio_device_usage_total').map((x) => x.extra), [['8:0', '8', '0', 'Read'], ['8:0', '8', '0', 'Write']]);
});

test('without a readable filesystem or block I/O, those samples are left out rather than made up', () => {
  const s = containerSamples(figures({ fs: undefined, cgroup: cgroup({ blkio: [] }) }));
  assert.equal(s.some((x) => x.name.startsWith('container_fs_') || x.name === 'container_blkio_device_usage_total'), false);
});

test('CRI values are unsigned integers', () => {
  const [m] = toCriMetrics([{ name: 'container_memory_usage_bytes', value: -5.5 }], ['a', 'b', 'c', 'd', 'e', 'f'], '1');
  assert.deepEqual(m!.value, { value: 0 });
});
