/**
 * Builders for CRI configs (complete __Output objects, as the gRPC layer decodes them with
 * defaults) and a baseline ContainerSpecInput, so each test states only what it varies.
 */
import type { ContainerConfig__Output } from '../../../src/cri/generated/runtime/v1/ContainerConfig.js';
import type { PodSandboxConfig__Output } from '../../../src/cri/generated/runtime/v1/PodSandboxConfig.js';
import type { LinuxContainerSecurityContext__Output } from '../../../src/cri/generated/runtime/v1/LinuxContainerSecurityContext.js';
import type { LinuxSandboxSecurityContext__Output } from '../../../src/cri/generated/runtime/v1/LinuxSandboxSecurityContext.js';
import type { LinuxContainerResources__Output } from '../../../src/cri/generated/runtime/v1/LinuxContainerResources.js';
import type { Mount__Output } from '../../../src/cri/generated/runtime/v1/Mount.js';
import type { ContainerSpecInput, SandboxSpecInput } from '../../../src/runtime/spec/index.js';

export const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  '# a comment',
  '',
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
  'default-user:x:1000:1000::/home/default-user:/bin/sh',
  'broken-line-without-fields',
  'www:x:33:33:www:/var/www:/bin/false',
].join('\n');

export const GROUP = [
  'root:x:0:',
  'daemon:x:1:',
  'wheel:x:10:root,default-user',
  'nogroup:x:65534:',
  'default-user:x:1000:default-user',
  'group-defined-in-image:x:50000:default-user',
  'www:x:33:',
  'staff:x:50:www, default-user',
].join('\n');

export function securityContext(over: Partial<LinuxContainerSecurityContext__Output> = {}): LinuxContainerSecurityContext__Output {
  return {
    capabilities: null,
    privileged: false,
    namespace_options: null,
    selinux_options: null,
    run_as_user: null,
    run_as_username: '',
    readonly_rootfs: false,
    supplemental_groups: [],
    apparmor_profile: '',
    seccomp_profile_path: '',
    no_new_privs: false,
    run_as_group: null,
    masked_paths: [],
    readonly_paths: [],
    seccomp: null,
    apparmor: null,
    supplemental_groups_policy: 'Merge',
    ...over,
  };
}

export function resources(over: Partial<LinuxContainerResources__Output> = {}): LinuxContainerResources__Output {
  return {
    cpu_period: '0',
    cpu_quota: '0',
    cpu_shares: '0',
    memory_limit_in_bytes: '0',
    oom_score_adj: '0',
    cpuset_cpus: '',
    cpuset_mems: '',
    hugepage_limits: [],
    unified: {},
    memory_swap_limit_in_bytes: '0',
    ...over,
  };
}

export function mount(over: Partial<Mount__Output> & { container_path: string; host_path: string }): Mount__Output {
  return {
    readonly: false,
    selinux_relabel: false,
    propagation: 'PROPAGATION_PRIVATE',
    uidMappings: [],
    gidMappings: [],
    recursive_read_only: false,
    image: null,
    image_sub_path: '',
    mount_options: [],
    ...over,
  };
}

export function containerConfig(
  over: Partial<ContainerConfig__Output> = {},
  sc?: Partial<LinuxContainerSecurityContext__Output>,
  res?: Partial<LinuxContainerResources__Output>,
): ContainerConfig__Output {
  return {
    metadata: { name: 'app', attempt: 0 },
    image: { image: 'docker.io/library/busybox:latest', annotations: {}, user_specified_image: '', runtime_handler: '', image_ref: '' },
    command: [],
    args: [],
    working_dir: '',
    envs: [],
    mounts: [],
    devices: [],
    labels: {},
    annotations: {},
    log_path: '',
    stdin: false,
    stdin_once: false,
    tty: false,
    linux: { resources: res ? resources(res) : null, security_context: sc ? securityContext(sc) : null },
    windows: null,
    CDI_devices: [],
    stop_signal: 'SIGNAL_RUNTIME_DEFAULT',
    ...over,
  };
}

export function sandboxSecurityContext(over: Partial<LinuxSandboxSecurityContext__Output> = {}): LinuxSandboxSecurityContext__Output {
  return {
    namespace_options: null,
    selinux_options: null,
    run_as_user: null,
    readonly_rootfs: false,
    supplemental_groups: [],
    privileged: false,
    seccomp_profile_path: '',
    run_as_group: null,
    seccomp: null,
    apparmor: null,
    supplemental_groups_policy: 'Merge',
    ...over,
  };
}

export function sandboxConfig(
  over: Partial<PodSandboxConfig__Output> = {},
  sc?: Partial<LinuxSandboxSecurityContext__Output>,
  sysctls: Record<string, string> = {},
): PodSandboxConfig__Output {
  return {
    metadata: { name: 'web', uid: 'uid-1', namespace: 'default', attempt: 0 },
    hostname: 'web',
    log_directory: '/var/log/pods/default_web_uid-1',
    dns_config: null,
    port_mappings: [],
    labels: {},
    annotations: {},
    linux: {
      cgroup_parent: '/kubepods/pod-uid-1',
      security_context: sc ? sandboxSecurityContext(sc) : null,
      sysctls,
      overhead: null,
      resources: null,
    },
    windows: null,
    ...over,
  };
}

/** A busybox-like container in a pod with its own network, IPC, UTS and a shared PID namespace. */
export function containerInput(over: Partial<ContainerSpecInput> = {}): ContainerSpecInput {
  return {
    id: 'c1',
    sandboxId: 'sb1',
    config: containerConfig(),
    sandboxConfig: sandboxConfig(),
    image: { cmd: ['sh'], env: ['PATH=/usr/local/bin:/usr/bin:/bin'] },
    rootfsPath: '/run/corelet/containers/c1/rootfs',
    passwd: PASSWD,
    group: GROUP,
    namespaces: {
      network: '/run/netns/corelet-sb1',
      ipc: '/proc/100/ns/ipc',
      uts: '/proc/100/ns/uts',
      pid: '/proc/100/ns/pid',
    },
    cgroupsPath: '/kubepods/pod-uid-1/c1',
    sandboxFiles: {
      hostname: '/var/lib/corelet/sandboxes/sb1/hostname',
      hosts: '/var/lib/corelet/sandboxes/sb1/hosts',
      resolvConf: '/var/lib/corelet/sandboxes/sb1/resolv.conf',
      shm: '/var/lib/corelet/sandboxes/sb1/shm',
    },
    minOomScoreAdj: 0,
    hostname: 'web',
    cgroupV2: false,
    ...over,
  };
}

export function sandboxInput(over: Partial<SandboxSpecInput> = {}): SandboxSpecInput {
  return {
    id: 'sb1',
    config: sandboxConfig(),
    rootfsPath: '/usr/lib/corelet/pause/rootfs',
    netnsPath: '/run/netns/corelet-sb1',
    cgroupsPath: '/kubepods/pod-uid-1/sb1',
    minOomScoreAdj: 0,
    cgroupV2: false,
    ...over,
  };
}

/** Asserts fn throws a CoreletError of the given kind whose message matches re. */
export function errorOf(kind: string, re?: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    const e = err as { kind?: string; message?: string };
    if (e?.kind !== kind) throw new Error(`expected ${kind} error, got ${e?.kind}: ${e?.message}`);
    if (re && !re.test(e.message ?? '')) throw new Error(`message "${e.message}" does not match ${re}`);
    return true;
  };
}

/** A CRI env entry as the server decodes it (KeyValue.value is bytes since CRI v1.37). */
export function env(key: string, value: string): { key: string; value: Buffer } {
  return { key, value: Buffer.from(value) };
}
