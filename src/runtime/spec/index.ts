/**
 * The pure CRI→OCI translation: CRI container and sandbox configs plus image facts in, an OCI
 * runtime config.json out. No I/O: callers pass file contents and host facts.
 */
export * from './types.js';
export { buildContainerSpec } from './container-spec.js';
export { buildSandboxSpec, SANDBOX_CPU_SHARES, SANDBOX_OOM_SCORE_ADJ } from './sandbox-spec.js';
export {
  ALL_CAPABILITIES,
  DEFAULT_CAPABILITIES,
  computeCapabilities,
  parseCapabilityMask,
  sortCapabilities,
  toCapabilityName,
  type CapabilityOptions,
  type CapabilityRequest,
} from './capabilities.js';
export {
  criUserString,
  memberGroups,
  parseGids,
  parseGroup,
  parsePasswd,
  parseUserSpec,
  resolveUser,
  sortGids,
  type CriUserRequest,
  type GroupEntry,
  type PasswdEntry,
  type ResolvedUser,
  type UserSpec,
} from './user.js';
export { DEFAULT_PATH_ENV, buildEnv, envValue, mergeArgs, overrideEnv, workingDir } from './process.js';
export { cleanPath, defaultMounts, mergeMounts, type MountPlan } from './mounts.js';
export { clampOomScoreAdj, int64, toOciResources, type ResourceOptions } from './resources.js';
export { defaultSeccompProfile, parseSeccompProfile, resolveSeccomp, seccompArch, seccompChoice, type SeccompArch, type SeccompChoice } from './seccomp.js';
export {
  ANNOTATIONS,
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  apparmorProfile,
  podAnnotations,
  protectedPaths,
  rejectUserNamespace,
} from './security.js';
export { normalizeSysctlName, sysctlNamespace, validateSysctls } from './sysctls.js';
export { SIGNAL_NUMBERS, normalizeSignal, signalTable, type SignalTable } from './signals.js';
