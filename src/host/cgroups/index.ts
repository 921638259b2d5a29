/**
 * cgroup v1 and v2 reading and cleanup for containers and pods, by cgroupfs path; all host paths
 * injectable (root defaults to /sys/fs/cgroup).
 */
export { detectCgroupMode, v2Controllers, type CgroupMode } from './mode.js';
export {
  Cgroups,
  type CgroupsOptions,
  type CgroupStats,
  type CgroupLimits,
  type RemoveResult,
} from './cgroups.js';
export { parseFlatKeyed, parseSingleValue, parseCpuMax, parsePids, parseBlkioV1, parseIoStatV2, type BlkioDevice } from './parse.js';
export { readCgroupMetrics, weightToShares, type CgroupMetrics } from './cgroup-metrics.js';
export {
  CGROUP_DRIVERS,
  SYSTEMD_RUN_DIR,
  SCOPE_PREFIX,
  defaultCgroupDriver,
  checkSystemdBooted,
  parseCgroupDriver,
  escapeSlicePart,
  sliceName,
  isValidSliceName,
  expandSlice,
  systemdCgroupsPath,
  scopeCgroupfsPath,
  parseSliceParent,
  refuseSliceUnderCgroupfs,
  sliceProperties,
  busctlProperties,
  SystemdUnits,
  type CgroupDriver,
  type SliceResources,
  type UnitProperty,
  type SliceUnits,
  type SystemdUnitsOptions,
} from './systemd.js';
