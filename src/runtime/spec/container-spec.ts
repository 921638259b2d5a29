/**
 * CRI CreateContainer → OCI config.json: the pure translation (containerd's CRI plugin semantics).
 */
import { invalidArgument } from '../../lib/index.js';
import { ALL_CAPABILITIES, computeCapabilities } from './capabilities.js';
import { defaultMounts, mergeMounts } from './mounts.js';
import { buildEnv, mergeArgs, workingDir } from './process.js';
import { clampOomScoreAdj, int64, toOciResources } from './resources.js';
import { resolveSeccomp, seccompChoice } from './seccomp.js';
import { ANNOTATIONS, apparmorProfile, podAnnotations, protectedPaths, rejectUserNamespace } from './security.js';
import { validateSysctls } from './sysctls.js';
import { OCI_VERSION, type ContainerSpecInput, type OciDeviceRule, type OciLinuxDevice, type OciNamespace, type OciSpec } from './types.js';
import { criUserString, memberGroups, parseGids, resolveUser, sortGids } from './user.js';

/**
 * Builds the OCI spec of a container from its CRI config, its pod's config and its image config.
 * Throws InvalidArgument (or FailedPrecondition for what the host cannot do) with a message naming
 * the offending field; never touches the host.
 */
export function buildContainerSpec(input: ContainerSpecInput): OciSpec {
  const { config, sandboxConfig, image } = input;
  const sc = config.linux?.security_context ?? null;
  const privileged = Boolean(sc?.privileged);
  if (privileged && !sandboxConfig.linux?.security_context?.privileged) {
    throw invalidArgument('a privileged container is not allowed in a non-privileged pod sandbox');
  }
  rejectUserNamespace(sc?.namespace_options);

  // User, group and supplementary groups. The CRI user wins over the image's USER.
  const criUser = criUserString({
    runAsUser: sc?.run_as_user?.value,
    runAsUsername: sc?.run_as_username,
    runAsGroup: sc?.run_as_group?.value,
  });
  const user = resolveUser(criUser ?? (image.user || '0'), input.passwd, input.group);
  const policy = sc?.supplemental_groups_policy || 'Merge';
  if (policy !== 'Merge' && policy !== 'Strict') throw invalidArgument(`unsupported supplemental_groups_policy ${String(policy)}`);
  const gids = [user.gid, ...parseGids(sc?.supplemental_groups, 'supplemental_groups')];
  if (policy === 'Merge') gids.push(...memberGroups(user.name, input.group));

  const capabilities = computeCapabilities(
    {
      add: sc?.capabilities?.add_capabilities,
      drop: sc?.capabilities?.drop_capabilities,
      addAmbient: sc?.capabilities?.add_ambient_capabilities,
    },
    { privileged, root: user.uid === 0, available: input.availableCapabilities ?? ALL_CAPABILITIES },
  );
  const seccomp = resolveSeccomp(seccompChoice(sc?.seccomp, sc?.seccomp_profile_path), {
    privileged,
    capabilities: capabilities.bounding,
    readLocalhost: input.seccompLocalhost,
  });
  const apparmor = apparmorProfile(sc?.apparmor, sc?.apparmor_profile, { apparmorEnabled: input.apparmorEnabled ?? false });

  const namespaces = containerNamespaces(input, privileged);
  const hasUts = namespaces.some((n) => n.type === 'uts');
  const readonlyRootfs = Boolean(sc?.readonly_rootfs);
  const { mounts, rootfsPropagation } = mergeMounts({
    defaults: defaultMounts({ privileged, cgroupMount: true }),
    criMounts: config.mounts ?? [],
    sandboxFiles: input.sandboxFiles,
    readonlyRootfs,
  });

  const resources = toOciResources(config.linux?.resources, {
    cgroupV2: input.cgroupV2,
    swapAvailable: input.swapAvailable,
    hugetlbAvailable: input.hugetlbAvailable,
  });
  const requested = containerDevices(input);
  const devices = requested.map((d) => d.node);
  // Deny every device, then allow the requested ones; runc adds the standard /dev nodes itself.
  resources.devices = privileged ? [{ allow: true, access: 'rwm' }] : [{ allow: false, access: 'rwm' }, ...requested.map((d) => d.rule)];
  if (privileged) {
    const taken = new Set(devices.map((d) => d.path));
    devices.push(...(input.hostDevices ?? []).filter((d) => !taken.has(d.path)));
  }

  const oomScoreAdj = clampOomScoreAdj(int64(config.linux?.resources?.oom_score_adj, 'oom_score_adj'), input.minOomScoreAdj);
  const sysctl = validateSysctls(sandboxConfig.linux?.sysctls, {
    hostNetwork: input.namespaces.network === undefined,
    hostIpc: input.namespaces.ipc === undefined,
  });

  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: Boolean(config.tty),
      user: { uid: user.uid, gid: user.gid, additionalGids: sortGids(gids) },
      args: mergeArgs({ command: config.command, args: config.args }, image),
      env: buildEnv(input.hostname, image.env, config.envs),
      cwd: workingDir(config.working_dir, image.workingDir),
      capabilities,
      noNewPrivileges: Boolean(sc?.no_new_privs),
      oomScoreAdj,
    },
    root: { path: input.rootfsPath, readonly: readonlyRootfs },
    mounts,
    annotations: {
      ...(config.annotations ?? {}),
      ...podAnnotations(input.sandboxId, sandboxConfig),
      [ANNOTATIONS.containerType]: 'container',
      [ANNOTATIONS.containerName]: config.metadata?.name ?? '',
      [ANNOTATIONS.imageName]: input.imageName ?? config.image?.image ?? '',
    },
    linux: {
      namespaces,
      resources,
      cgroupsPath: input.cgroupsPath,
      sysctl,
      ...(protectedPaths({ privileged, masked: sc?.masked_paths, readonly: sc?.readonly_paths })),
      devices,
    },
  };
  if (hasUts && input.hostname) spec.hostname = input.hostname;
  if (apparmor) spec.process.apparmorProfile = apparmor;
  if (seccomp) spec.linux.seccomp = seccomp;
  if (rootfsPropagation) spec.linux.rootfsPropagation = rootfsPropagation;
  return spec;
}

/**
 * The container's namespaces: the pod's network, IPC and UTS joined by path (absent = host), PID
 * per input, always its own mount namespace, and its own cgroup namespace on cgroup v2 hosts unless
 * privileged (containerd's rule: hiding /sys/fs/cgroup paths would break privileged tooling).
 */
function containerNamespaces(input: ContainerSpecInput, privileged: boolean): OciNamespace[] {
  const ns = input.namespaces;
  const out: OciNamespace[] = [];
  if (ns.pid === 'new') out.push({ type: 'pid' });
  else if (ns.pid && ns.pid !== 'host') out.push({ type: 'pid', path: ns.pid });
  if (ns.network) out.push({ type: 'network', path: ns.network });
  if (ns.ipc) out.push(ns.ipc === 'new' ? { type: 'ipc' } : { type: 'ipc', path: ns.ipc });
  if (ns.uts) out.push(ns.uts === 'new' ? { type: 'uts' } : { type: 'uts', path: ns.uts });
  out.push({ type: 'mount' });
  if (input.cgroupV2 && !privileged) out.push({ type: 'cgroup' });
  return out;
}

/** CRI permissions ("r", "rw", "rwm"...), defaulting to all three. */
function devicePermissions(p: string | undefined): string {
  const perms = p || 'rwm';
  if (!/^[rwm]{1,3}$/.test(perms) || new Set(perms).size !== perms.length) throw invalidArgument(`invalid device permissions "${perms}"`);
  return perms;
}

/** The CRI devices as device nodes plus their cgroup rules, from the caller's stat of the host paths. */
function containerDevices(input: ContainerSpecInput): { node: OciLinuxDevice; rule: OciDeviceRule }[] {
  return (input.config.devices ?? []).map((d) => {
    if (!d.host_path) throw invalidArgument('device without host_path');
    const containerPath = d.container_path || d.host_path;
    if (!containerPath.startsWith('/')) throw invalidArgument(`device container_path must be absolute, got "${containerPath}"`);
    const access = devicePermissions(d.permissions);
    const info = input.deviceInfo?.(d.host_path);
    if (!info || (info.type !== 'c' && info.type !== 'b')) throw invalidArgument(`device ${d.host_path} is not a character or block device`);
    return {
      node: { path: containerPath, type: info.type, major: info.major, minor: info.minor, fileMode: info.fileMode, uid: info.uid, gid: info.gid },
      rule: { allow: true, type: info.type, major: info.major, minor: info.minor, access },
    };
  });
}
