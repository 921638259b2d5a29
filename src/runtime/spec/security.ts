/**
 * Masked and read-only paths, AppArmor, and the CRI annotations on a spec.
 */
import { invalidArgument } from '../../lib/index.js';
import type { SecurityProfile__Output, PodSandboxConfig__Output, NamespaceOption__Output } from '../../cri/index.js';

/** Paths hidden from unprivileged containers (they leak host details or allow attacks). */
export const DEFAULT_MASKED_PATHS: readonly string[] = Object.freeze([
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
]);

/** Paths read-only in unprivileged containers. */
export const DEFAULT_READONLY_PATHS: readonly string[] = Object.freeze([
  '/proc/asound',
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
]);

/**
 * Masked and read-only paths: none for privileged containers; else the CRI lists when given, the
 * defaults otherwise. (Protobuf cannot tell an empty list from an absent one; the kubelet always
 * sends its defaults, so an empty list is read as "not given".)
 */
export function protectedPaths(opts: {
  privileged: boolean;
  masked?: readonly string[];
  readonly?: readonly string[];
}): { maskedPaths: string[]; readonlyPaths: string[] } {
  if (opts.privileged) return { maskedPaths: [], readonlyPaths: [] };
  return {
    maskedPaths: opts.masked?.length ? [...opts.masked] : [...DEFAULT_MASKED_PATHS],
    readonlyPaths: opts.readonly?.length ? [...opts.readonly] : [...DEFAULT_READONLY_PATHS],
  };
}

/**
 * The AppArmor profile to put in the spec (undefined = none). On a host without AppArmor only
 * unconfined and runtime-default are accepted (both mean "nothing to do"); a named profile is
 * InvalidArgument. With AppArmor, a Localhost profile is applied by name; runtime-default is left
 * to the host's default confinement, since corelet ships no profile of its own.
 */
export function apparmorProfile(
  profile: SecurityProfile__Output | null | undefined,
  deprecated: string | undefined,
  opts: { apparmorEnabled: boolean },
): string | undefined {
  let localhost: string | undefined;
  if (profile) {
    if (profile.profile_type === 'Localhost') {
      if (!profile.localhost_ref) throw invalidArgument('apparmor Localhost profile without localhost_ref');
      localhost = profile.localhost_ref.replace(/^localhost\//, '');
    }
  } else if (deprecated && deprecated !== 'runtime/default' && deprecated !== 'unconfined') {
    if (!deprecated.startsWith('localhost/') || deprecated.length === 'localhost/'.length) {
      throw invalidArgument(`unsupported apparmor profile "${deprecated}"`);
    }
    localhost = deprecated.slice('localhost/'.length);
  }
  if (localhost === undefined) return undefined;
  if (!opts.apparmorEnabled) throw invalidArgument(`apparmor is not enabled on this host: cannot apply profile "${localhost}"`);
  return localhost;
}

/** Annotation keys containerd's CRI plugin sets (tools such as crictl inspect and NRI read them). */
export const ANNOTATIONS = Object.freeze({
  containerType: 'io.kubernetes.cri.container-type',
  sandboxId: 'io.kubernetes.cri.sandbox-id',
  sandboxName: 'io.kubernetes.cri.sandbox-name',
  sandboxNamespace: 'io.kubernetes.cri.sandbox-namespace',
  sandboxUid: 'io.kubernetes.cri.sandbox-uid',
  sandboxLogDirectory: 'io.kubernetes.cri.sandbox-log-directory',
  containerName: 'io.kubernetes.cri.container-name',
  imageName: 'io.kubernetes.cri.image-name',
});

/** The pod identity annotations shared by sandbox and container specs. */
export function podAnnotations(sandboxId: string, sandboxConfig: PodSandboxConfig__Output): Record<string, string> {
  const meta = sandboxConfig.metadata;
  return {
    [ANNOTATIONS.sandboxId]: sandboxId,
    [ANNOTATIONS.sandboxName]: meta?.name ?? '',
    [ANNOTATIONS.sandboxNamespace]: meta?.namespace ?? '',
    [ANNOTATIONS.sandboxUid]: meta?.uid ?? '',
  };
}

/** Refuses user-namespace modes corelet does not implement (NODE, the default, is fine). */
export function rejectUserNamespace(ns: NamespaceOption__Output | null | undefined): void {
  const mode = ns?.userns_options?.mode;
  if (mode && mode !== 'NODE') throw invalidArgument(`user namespace mode ${mode} is not supported by this runtime`);
}
