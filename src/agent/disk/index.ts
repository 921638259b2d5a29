/**
 * The node's disk: container log rotation, removal of removed pods' logs and volumes, image
 * garbage collection, and the disk usage figures eviction ranks pods by.
 */
export {
  rotatedLogName,
  planRotation,
  checkLogRotationSettings,
  DEFAULT_CONTAINER_LOG_MAX_SIZE,
  DEFAULT_CONTAINER_LOG_MAX_FILES,
  DEFAULT_CONTAINER_LOG_MONITOR_INTERVAL_MS,
  type RotationPlan,
} from './log-rotation.js';
export { ContainerLogManager, type ContainerLogManagerOptions } from './container-log-manager.js';
export { markPodLogDirectory, POD_LOG_FOLDER_MARKER, PodDirs, uidOfLogFolder, type PodDirsOptions } from './pod-dirs.js';
export {
  ImageGcManager,
  selectImagesToRemove,
  bytesToFree,
  checkImageGcPolicy,
  statFs,
  DEFAULT_IMAGE_GC_HIGH_THRESHOLD,
  DEFAULT_IMAGE_GC_LOW_THRESHOLD,
  DEFAULT_IMAGE_MINIMUM_GC_AGE_MS,
  DEFAULT_IMAGE_GC_PERIOD_MS,
  type ImageGcPolicy,
  type ImageGcOptions,
  type FsStats,
  type GcCandidate,
  type GcResult,
  type ImageRecordTimes,
} from './image-gc.js';
export { diskUsage, podDiskUsage } from './disk-usage.js';
export { removeDeadContainers, type DeadContainerOptions } from './dead-containers.js';
