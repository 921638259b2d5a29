/**
 * Composes what keeps the node's disk from filling (the parts live in disk/ and eviction/):
 * container log rotation, removal of removed pods' log folders and volumes, image garbage
 * collection, and nodefs/imagefs eviction with the DiskPressure condition.
 */
import { join } from 'node:path';
import type { NodeCondition, Pod } from '../api/index.js';
import type { CriClient } from '../cri/index.js';
import type { Logger } from '../lib/index.js';
import { ContainerLogManager, ImageGcManager, PodDirs, podDiskUsage, removeDeadContainers, statFs } from './disk/index.js';
import { DiskEvictionManager, type EvictionThreshold } from './eviction/index.js';
import type { VolumeManager } from './volumes.js';
import { LABELS } from './cri-config.js';

/** The agent's disk flags (undefined: the kubelet's defaults). */
export interface DiskConfig {
  /** --container-log-max-size in bytes (10Mi). */
  readonly containerLogMaxSize?: number;
  /** --container-log-max-files (5). */
  readonly containerLogMaxFiles?: number;
  /** --container-log-monitor-interval in ms (1 s). */
  readonly containerLogMonitorIntervalMs?: number;
  /** --image-gc-high-threshold / --image-gc-low-threshold in percent (85 / 80). */
  readonly imageGcHighThreshold?: number;
  readonly imageGcLowThreshold?: number;
  /** --image-minimum-gc-age in ms (2 min). */
  readonly imageMinimumGcAgeMs?: number;
}

export interface DiskManagementOptions {
  cri: CriClient;
  config: DiskConfig;
  /** --eviction-hard (nodefs.available and imagefs.available are acted on here). */
  thresholds: readonly EvictionThreshold[];
  root: string;
  logRoot: string;
  volumes: VolumeManager;
  evict: (pod: Pod, message: string) => Promise<void>;
  /** Static pods are never evicted; evictions wait for the evicted pod's cleanup; reclaim keeps known pods' last dead containers. */
  isStaticPod?: (pod: Pod) => boolean;
  podCleanedUp?: (pod: Pod) => boolean;
  isKnownPod?: (uid: string) => boolean;
  logger: Logger;
}

export interface DiskManagement {
  readonly podDirs: PodDirs;
  readonly logs: ContainerLogManager;
  readonly imageGc: ImageGcManager;
  /** DiskPressure for the node's heartbeat. */
  conditions(): NodeCondition[];
  start(activePods: () => Pod[]): void;
  stop(): Promise<void>;
}

export function startDiskManagement(o: DiskManagementOptions): DiskManagement {
  const { config } = o;
  const logs = new ContainerLogManager({
    cri: o.cri,
    maxSizeBytes: config.containerLogMaxSize,
    maxFiles: config.containerLogMaxFiles,
    intervalMs: config.containerLogMonitorIntervalMs,
    logger: o.logger.child({ component: 'container-logs' }),
  });
  const podDirs = new PodDirs({
    logRoot: o.logRoot,
    root: o.root,
    removeVolumes: (uid) => o.volumes.cleanup(uid),
    logger: o.logger.child({ component: 'pod-dirs' }),
  });
  const imageGc = new ImageGcManager({
    cri: o.cri,
    policy: {
      highThresholdPercent: config.imageGcHighThreshold,
      lowThresholdPercent: config.imageGcLowThreshold,
      minAgeMs: config.imageMinimumGcAgeMs,
    },
    stateFile: join(o.root, 'image-gc.json'),
    logger: o.logger.child({ component: 'image-gc' }),
  });
  const eviction = new DiskEvictionManager({
    thresholds: o.thresholds,
    // nodefs: the filesystem of the agent's root (volumes) and of the pod logs, as the kubelet's.
    nodeFs: async () => {
      const [a, b] = await Promise.all([statFs(o.root), statFs(o.logRoot).catch(() => undefined)]);
      return b && b.availableBytes < a.availableBytes ? b : a;
    },
    imageFs: () => imageGc.imageFsStats(),
    // As the kubelet's reclaim: dead containers (and their logs) first, then unused images.
    reclaim: async () => {
      await removeDeadContainers({ cri: o.cri, cleanLogs: (id) => logs.clean(id), isKnownPod: o.isKnownPod ?? (() => true), logger: o.logger.child({ component: 'container-gc' }) });
      await imageGc.deleteUnusedImages();
    },
    // As the kubelet ranks for nodefs: the containers' writable layers (CRI stats) + logs + emptyDir.
    podUsage: async (pod) => {
      const [local, { stats }] = await Promise.all([
        podDiskUsage(o.logRoot, o.root, pod),
        o.cri.runtime.ListContainerStats({ filter: { label_selector: { [LABELS.podUid]: pod.metadata.uid } } }),
      ]);
      return local + stats.reduce((n, s) => n + Number(s.writable_layer?.used_bytes?.value ?? 0), 0);
    },
    evict: o.evict,
    isStaticPod: o.isStaticPod,
    podCleanedUp: o.podCleanedUp,
    logger: o.logger.child({ component: 'eviction' }),
  });
  return {
    podDirs,
    logs,
    imageGc,
    conditions: () => [
      eviction.diskPressure
        ? { type: 'DiskPressure', status: 'True', reason: 'KubeletHasDiskPressure', message: 'agent has disk pressure' }
        : { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'agent has no disk pressure' },
    ],
    start(activePods) {
      logs.start();
      imageGc.start();
      eviction.start(activePods);
    },
    async stop() {
      await Promise.all([logs.stop(), imageGc.stop(), eviction.stop()]);
    },
  };
}
