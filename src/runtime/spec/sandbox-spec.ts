/**
 * CRI RunPodSandbox → the OCI spec of the pause container, which holds the pod's namespaces.
 */
import { invalidArgument } from '../../lib/index.js';
import { defaultMounts } from './mounts.js';
import { DEFAULT_PATH_ENV } from './process.js';
import { clampOomScoreAdj } from './resources.js';
import { resolveSeccomp, seccompChoice } from './seccomp.js';
import { ANNOTATIONS, podAnnotations, protectedPaths, rejectUserNamespace } from './security.js';
import { validateSysctls } from './sysctls.js';
import { OCI_VERSION, type OciMount, type OciNamespace, type OciSpec, type SandboxSpecInput } from './types.js';
import { criUserString, parseGids, resolveUser, sortGids } from './user.js';

/** The pause process is the first the OOM killer should spare after system daemons (containerd's value). */
export const SANDBOX_OOM_SCORE_ADJ = -998;

/** cpu.shares of the pause container: it only sleeps (containerd's value). */
export const SANDBOX_CPU_SHARES = 2;

/**
 * Builds the pause container's spec. Namespaces: the pod's network namespace by path (host
 * network when the pod asks for NODE; a new one if no path is given), new IPC and UTS unless host
 * IPC / host network, a new PID namespace unless PID is NODE. Read-only rootfs, no capabilities,
 * no_new_privs, oom_score_adj -998 (raised to the runtime's own), cpu shares 2, the pod's sysctls.
 */
export function buildSandboxSpec(input: SandboxSpecInput): OciSpec {
  const { config } = input;
  const sc = config.linux?.security_context ?? null;
  const nsOpts = sc?.namespace_options ?? null;
  rejectUserNamespace(nsOpts);
  const hostNetwork = nsOpts?.network === 'NODE';
  const hostIpc = nsOpts?.ipc === 'NODE';
  const pidMode = nsOpts?.pid || 'POD';
  if (pidMode === 'TARGET') throw invalidArgument('a pod sandbox cannot target another container\'s PID namespace');
  const privileged = Boolean(sc?.privileged);

  const namespaces: OciNamespace[] = [];
  if (pidMode !== 'NODE') namespaces.push({ type: 'pid' });
  if (!hostNetwork) namespaces.push(input.netnsPath ? { type: 'network', path: input.netnsPath } : { type: 'network' });
  const paths = input.namespacePaths ?? {};
  if (!hostIpc) namespaces.push(paths.ipc ? { type: 'ipc', path: paths.ipc } : { type: 'ipc' });
  if (!hostNetwork) namespaces.push(paths.uts ? { type: 'uts', path: paths.uts } : { type: 'uts' });
  namespaces.push({ type: 'mount' });
  if (input.cgroupV2 && !privileged) namespaces.push({ type: 'cgroup' });

  // The pause image has no /etc/passwd: only numeric ids are meaningful.
  const userSpec = criUserString({ runAsUser: sc?.run_as_user?.value, runAsGroup: sc?.run_as_group?.value }) ?? '0';
  const user = resolveUser(userSpec);
  const additionalGids = sortGids([user.gid, ...parseGids(sc?.supplemental_groups, 'supplemental_groups')]);

  const seccomp = resolveSeccomp(seccompChoice(sc?.seccomp, sc?.seccomp_profile_path), {
    privileged,
    capabilities: [],
    readLocalhost: input.seccompLocalhost,
  });

  const mounts: OciMount[] = defaultMounts({ privileged: false, cgroupMount: false }).filter(
    (m) => !(input.sandboxFiles?.shm && m.destination === '/dev/shm'),
  );
  if (input.sandboxFiles?.shm) {
    mounts.push({ destination: '/dev/shm', type: 'bind', source: input.sandboxFiles.shm, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] });
  }
  if (input.sandboxFiles?.resolvConf) {
    mounts.push({
      destination: '/etc/resolv.conf',
      type: 'bind',
      source: input.sandboxFiles.resolvConf,
      options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'],
    });
  }

  // The pause process needs no capability: it only waits for signals and reaps children.
  const noCaps = { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] };
  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: false,
      user: { uid: user.uid, gid: user.gid, additionalGids },
      args: input.args?.length ? [...input.args] : ['/pause'],
      env: input.env?.length ? [...input.env] : [DEFAULT_PATH_ENV],
      cwd: '/',
      capabilities: noCaps,
      noNewPrivileges: true,
      oomScoreAdj: clampOomScoreAdj(SANDBOX_OOM_SCORE_ADJ, input.minOomScoreAdj),
    },
    root: { path: input.rootfsPath, readonly: true },
    mounts,
    annotations: {
      ...(config.annotations ?? {}),
      ...podAnnotations(input.id, config),
      [ANNOTATIONS.containerType]: 'sandbox',
      [ANNOTATIONS.sandboxLogDirectory]: config.log_directory ?? '',
    },
    linux: {
      namespaces,
      resources: { devices: [{ allow: false, access: 'rwm' }], memory: {}, cpu: { shares: SANDBOX_CPU_SHARES } },
      cgroupsPath: input.cgroupsPath,
      sysctl: validateSysctls(config.linux?.sysctls, { hostNetwork, hostIpc }),
      ...protectedPaths({ privileged: false }),
      devices: [],
    },
  };
  const hostname = input.hostname ?? config.hostname;
  if (!hostNetwork && hostname) spec.hostname = hostname;
  if (seccomp) spec.linux.seccomp = seccomp;
  return spec;
}
