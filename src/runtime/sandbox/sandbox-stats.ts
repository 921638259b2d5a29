import { readFile } from 'node:fs/promises';
import type { PodSandboxStats, NetworkInterfaceUsage, UnaryImpl } from '../../cri/index.js';
import { invalidArgument, unixNanos } from '../../lib/index.js';
import type { SandboxRecord, StateStore } from '../store/index.js';
import type { Cgroups } from '../../host/index.js';
import { matchesLabels } from '../filters.js';
import { containerStats, memoryUsage, type ContainerStatsDeps } from '../container/container-stats.js';

/** What the pod stats handlers read: the pod cgroup (figures and pids), the records, the containers' stats. */
export type PodSandboxStatsDeps = ContainerStatsDeps & {
  readonly cgroups: Pick<Cgroups, 'stats' | 'pids'>;
  readonly store: Pick<StateStore, 'sandbox' | 'listSandboxes'>;
};

/** Interface counters of the pod's network namespace, read through its pause process's /proc/PID/net/dev. */
export async function podInterfaces(pausePid: number): Promise<NetworkInterfaceUsage[]> {
  const text = await readFile(`/proc/${pausePid}/net/dev`, 'utf8').catch(() => '');
  return text
    .split('\n')
    .slice(2)
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [name, rest] = line.split(':') as [string, string];
      const f = rest.trim().split(/\s+/).map(Number);
      return { name: name.trim(), rx_bytes: { value: f[0] ?? 0 }, rx_errors: { value: f[2] ?? 0 }, tx_bytes: { value: f[8] ?? 0 }, tx_errors: { value: f[10] ?? 0 } };
    })
    .filter((i) => i.name !== 'lo');
}

/** CRI PodSandboxStats: the pod cgroup (it holds every container of the pod), its network, its containers. */
export async function podSandboxStats(d: PodSandboxStatsDeps, rec: SandboxRecord): Promise<PodSandboxStats> {
  const [s, pids, interfaces] = await Promise.all([
    d.cgroups.stats(rec.cgroupParent),
    d.cgroups.pids(rec.cgroupParent, { recursive: true }).catch(() => [] as number[]),
    rec.netnsPath && rec.pausePid ? podInterfaces(rec.pausePid) : Promise.resolve([]),
  ]);
  const timestamp = unixNanos(s?.timestampMs ?? Date.now());
  const running = d.store.listContainers().filter((c) => c.sandboxId === rec.id && c.state === 'running');
  return {
    attributes: { id: rec.id, metadata: rec.config.metadata, labels: rec.config.labels, annotations: rec.config.annotations },
    linux: {
      cpu: { timestamp, usage_core_nano_seconds: { value: s?.cpuUsageNanos ?? 0 } },
      memory: memoryUsage(s, timestamp),
      network: { timestamp, default_interface: interfaces.find((i) => i.name === 'eth0') ?? interfaces[0] ?? null, interfaces },
      process: { timestamp, process_count: { value: pids.length } },
      containers: await Promise.all(running.map((c) => containerStats(d, c))),
    },
  };
}

export const podSandboxStatsRpc = (d: PodSandboxStatsDeps): UnaryImpl<'PodSandboxStats'> => async (req) => {
  if (!req.pod_sandbox_id) throw invalidArgument('pod_sandbox_id is required');
  return { stats: await podSandboxStats(d, d.store.sandbox(req.pod_sandbox_id)) };
};

export const listPodSandboxStats = (d: PodSandboxStatsDeps): UnaryImpl<'ListPodSandboxStats'> => async (req) => {
  const f = req.filter;
  const recs = d.store
    .listSandboxes()
    .filter((s) => s.state === 'ready')
    .filter((s) => !f || ((!f.id || s.id.startsWith(f.id)) && matchesLabels(s.config.labels, f.label_selector)));
  return { stats: await Promise.all(recs.map((s) => podSandboxStats(d, s))) };
};
