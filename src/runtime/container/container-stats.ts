import type { ContainerStats, MemoryUsage, UnaryImpl } from '../../cri/index.js';
import type { CgroupStats } from '../../host/index.js';
import { invalidArgument, unixNanos } from '../../lib/index.js';
import type { ContainerRecord, StateStore } from '../store/index.js';
import type { CgroupPort } from '../ports.js';
import { matchesLabels } from '../filters.js';
import { treeUsage, type ImageStore } from '../image/index.js';
import { join } from 'node:path';

/** What the stats handlers read: the cgroups, the records, the image filesystem. */
export interface ContainerStatsDeps {
  readonly cgroups: Pick<CgroupPort, 'stats'>;
  readonly store: Pick<StateStore, 'container' | 'findContainer' | 'listContainers' | 'dir'>;
  readonly images: Pick<ImageStore, 'fsInfo'>;
}

/**
 * Previous CPU sample per container, to turn cumulative usage into nano-cores. Pruned when the
 * container is removed (forgetContainerStats).
 */
const lastCpu = new Map<string, { nanos: number; at: number }>();

/** Writable layer usage per container, walked at most every LAYER_USAGE_MAX_AGE_MS (a tree walk). */
const layerUsage = new Map<string, { at: number; bytes: number; inodes: number }>();
const LAYER_USAGE_MAX_AGE_MS = 5000;

/** The containers whose samples are kept (tests: a removed container's must be gone). */
export function sampledContainers(): string[] {
  return [...new Set([...lastCpu.keys(), ...layerUsage.keys()])];
}

/** Drops a removed container's samples (RemoveContainer). */
export function forgetContainerStats(id: string): void {
  lastCpu.delete(id);
  layerUsage.delete(id);
}

/** What the container wrote to its own filesystem: the overlay's upper folder (containers/<id>/upper). */
export async function writableLayerUsage(d: ContainerStatsDeps, id: string): Promise<{ bytes: number; inodes: number }> {
  const cached = layerUsage.get(id);
  if (cached && Date.now() - cached.at < LAYER_USAGE_MAX_AGE_MS) return cached;
  const u = await treeUsage(join(d.store.dir('containers', id), 'upper')).catch(() => ({ bytes: 0, inodes: 0 }));
  const entry = { at: Date.now(), ...u };
  // A RemoveContainer that finished during the walk has dropped the samples: do not put one back.
  if (d.store.findContainer(id)) layerUsage.set(id, entry);
  if (layerUsage.size > 4096) for (const k of layerUsage.keys()) if (Date.now() - layerUsage.get(k)!.at > 60_000) layerUsage.delete(k);
  return entry;
}

/** CRI MemoryUsage from cgroup figures (zeros when the cgroup is gone). */
export function memoryUsage(s: CgroupStats | undefined, timestamp: string): MemoryUsage {
  return {
    timestamp,
    working_set_bytes: { value: s?.memoryWorkingSetBytes ?? 0 },
    usage_bytes: { value: s?.memoryUsageBytes ?? 0 },
    rss_bytes: { value: s?.memoryRssBytes ?? 0 },
    page_faults: { value: s?.pageFaults ?? 0 },
    major_page_faults: { value: s?.majorPageFaults ?? 0 },
  };
}

/** CRI ContainerStats of a container, read from its cgroup (zeros once the cgroup is gone). */
export async function containerStats(d: ContainerStatsDeps, rec: ContainerRecord): Promise<ContainerStats> {
  const s = await d.cgroups.stats(rec.cgroupsPath);
  const at = s?.timestampMs ?? Date.now();
  const timestamp = unixNanos(at);
  let nanoCores = 0;
  if (s) {
    const prev = lastCpu.get(rec.id);
    if (prev && at > prev.at) nanoCores = Math.max(0, Math.round(((s.cpuUsageNanos - prev.nanos) / (at - prev.at)) * 1e6));
    if (d.store.findContainer(rec.id)) lastCpu.set(rec.id, { nanos: s.cpuUsageNanos, at });
  }
  const [fs, layer] = await Promise.all([d.images.fsInfo(), writableLayerUsage(d, rec.id)]);
  return {
    attributes: { id: rec.id, metadata: rec.config.metadata, labels: rec.config.labels, annotations: rec.config.annotations },
    cpu: { timestamp, usage_core_nano_seconds: { value: s?.cpuUsageNanos ?? 0 }, usage_nano_cores: { value: nanoCores } },
    memory: memoryUsage(s, timestamp),
    writable_layer: { timestamp, fs_id: { mountpoint: fs.mountpoint }, used_bytes: { value: layer.bytes }, inodes_used: { value: layer.inodes } },
  };
}

export const containerStatsRpc = (d: ContainerStatsDeps): UnaryImpl<'ContainerStats'> => async (req) => {
  if (!req.container_id) throw invalidArgument('container_id is required');
  return { stats: await containerStats(d, d.store.container(req.container_id)) };
};

export const listContainerStats = (d: ContainerStatsDeps): UnaryImpl<'ListContainerStats'> => async (req) => {
  const f = req.filter;
  const recs = d.store
    .listContainers()
    .filter((c) => c.state === 'running')
    .filter((c) => !f || ((!f.id || c.id.startsWith(f.id)) && (!f.pod_sandbox_id || c.sandboxId.startsWith(f.pod_sandbox_id)) && matchesLabels(c.config.labels, f.label_selector)));
  return { stats: await Promise.all(recs.map((c) => containerStats(d, c))) };
};
