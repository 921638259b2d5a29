import type { Metric, UnaryImpl } from '../../cri/index.js';
import { unixNanos } from '../../lib/index.js';
import type { RuntimeContext } from '../runtime-context.js';

/** The cAdvisor-named metrics corelet reports per container (the kubelet's /metrics/cadvisor shape). */
const DESCRIPTORS = [
  { name: 'container_cpu_usage_seconds_total', help: 'Cumulative cpu time consumed in seconds.', type: 'COUNTER' },
  { name: 'container_memory_usage_bytes', help: 'Current memory usage in bytes, including all memory regardless of when it was accessed.', type: 'GAUGE' },
  { name: 'container_memory_working_set_bytes', help: 'Current working set in bytes.', type: 'GAUGE' },
  { name: 'container_memory_rss', help: 'Size of RSS in bytes.', type: 'GAUGE' },
  { name: 'container_oom_events_total', help: 'Count of out of memory events observed for the container.', type: 'COUNTER' },
] as const;
const LABELS = ['container', 'pod', 'namespace', 'id'];

export const listMetricDescriptors = (_rt: RuntimeContext): UnaryImpl<'ListMetricDescriptors'> => async () => ({
  descriptors: DESCRIPTORS.map((d) => ({ name: d.name, help: d.help, label_keys: LABELS })),
});

export const listPodSandboxMetrics = (rt: RuntimeContext): UnaryImpl<'ListPodSandboxMetrics'> => async () => {
  const sandboxes = rt.deps.store.listSandboxes().filter((s) => s.state === 'ready');
  return {
    pod_metrics: await Promise.all(
      sandboxes.map(async (sb) => {
        const containers = rt.deps.store.listContainers().filter((c) => c.sandboxId === sb.id && c.state === 'running');
        return {
          pod_sandbox_id: sb.id,
          metrics: [],
          container_metrics: await Promise.all(
            containers.map(async (c) => {
              const s = await rt.deps.cgroups.stats(c.cgroupsPath);
              const timestamp = unixNanos(s?.timestampMs ?? Date.now());
              const labels = [c.config.metadata?.name ?? '', sb.config.metadata?.name ?? '', sb.config.metadata?.namespace ?? '', c.id];
              const values = [
                Math.floor((s?.cpuUsageNanos ?? 0) / 1e9),
                s?.memoryUsageBytes ?? 0,
                s?.memoryWorkingSetBytes ?? 0,
                s?.memoryRssBytes ?? 0,
                s?.oomKills ?? 0,
              ];
              const metrics: Metric[] = DESCRIPTORS.map((d, i) => ({ name: d.name, timestamp, metric_type: d.type, label_values: labels, value: { value: values[i]! } }));
              return { container_id: c.id, metrics };
            }),
          ),
        };
      }),
    ),
  };
};
