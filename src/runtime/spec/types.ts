/**
 * The subset of the OCI runtime-spec config.json (v1.0.2) that corelet produces, and the inputs of
 * the CRI→OCI translation. Field names follow the OCI JSON exactly, so a spec is written with a plain
 * JSON.stringify.
 */
import type { ContainerConfig__Output, PodSandboxConfig__Output } from '../../cri/index.js';

/** OCI runtime-spec version written into every config.json. */
export const OCI_VERSION = '1.0.2';

/* Process-related shapes are type aliases (not interfaces) so they stay assignable to
 * index-signature types such as the OCI adapter's loose process object. */

export type OciUser = {
  uid: number;
  gid: number;
  umask?: number;
  /** Supplementary groups, sorted and without duplicates; always holds the primary gid. */
  additionalGids: number[];
};

/** Capability names with their CAP_ prefix (CAP_CHOWN), in capability-number order. */
export type OciCapabilities = {
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable: string[];
  ambient: string[];
};

export type OciRlimit = {
  type: string;
  hard: number;
  soft: number;
};

export type OciProcess = {
  terminal: boolean;
  user: OciUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities: OciCapabilities;
  noNewPrivileges: boolean;
  oomScoreAdj: number;
  rlimits?: OciRlimit[];
  apparmorProfile?: string;
  selinuxLabel?: string;
};

export interface OciRoot {
  path: string;
  readonly: boolean;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export type OciNamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';

export interface OciNamespace {
  type: OciNamespaceType;
  /** Join this namespace (e.g. /proc/PID/ns/net); absent means a new one. */
  path?: string;
}

/** One device-cgroup rule. */
export interface OciDeviceRule {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access: string;
}

export interface OciMemory {
  limit?: number;
  swap?: number;
}

export interface OciCpu {
  shares?: number;
  quota?: number;
  period?: number;
  cpus?: string;
  mems?: string;
}

export interface OciHugepageLimit {
  pageSize: string;
  limit: number;
}

export interface OciResources {
  devices: OciDeviceRule[];
  memory: OciMemory;
  cpu: OciCpu;
  pids?: { limit: number };
  hugepageLimits?: OciHugepageLimit[];
  unified?: Record<string, string>;
}

/** A device node created inside the container. */
export interface OciLinuxDevice {
  path: string;
  type: 'c' | 'b' | 'u' | 'p';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export type SeccompAction =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';

export type SeccompOperator =
  | 'SCMP_CMP_NE'
  | 'SCMP_CMP_LT'
  | 'SCMP_CMP_LE'
  | 'SCMP_CMP_EQ'
  | 'SCMP_CMP_GE'
  | 'SCMP_CMP_GT'
  | 'SCMP_CMP_MASKED_EQ';

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOperator;
}

export interface OciSeccompRule {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: OciSeccompArg[];
}

export interface OciSeccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls: OciSeccompRule[];
}

export interface OciLinux {
  namespaces: OciNamespace[];
  resources: OciResources;
  cgroupsPath: string;
  sysctl: Record<string, string>;
  seccomp?: OciSeccomp;
  maskedPaths: string[];
  readonlyPaths: string[];
  devices: OciLinuxDevice[];
  rootfsPropagation?: string;
  mountLabel?: string;
}

/** An OCI runtime config.json as corelet writes it. */
export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: OciRoot;
  /** Set only when the container has its own (or its pod's) UTS namespace: runc refuses it otherwise. */
  hostname?: string;
  mounts: OciMount[];
  annotations: Record<string, string>;
  linux: OciLinux;
}

/** The parts of an OCI image config that shape a container (camelCase, as the image store keeps them). */
export interface ImageConfigInput {
  user?: string;
  env?: string[];
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
}

/** What the caller learnt from stat(2) of a host device node. */
export interface DeviceInfo {
  type: 'c' | 'b' | 'u' | 'p';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

/** Host files of the pod that every container bind-mounts, unless its CRI mounts target them. */
export interface SandboxFiles {
  /** Mounted as /etc/hostname. */
  hostname?: string;
  /** Mounted as /etc/resolv.conf. */
  resolvConf?: string;
  /** Mounted as /etc/hosts. */
  hosts?: string;
  /** Mounted as /dev/shm (the pod's tmpfs, or the host's /dev/shm for host IPC). */
  shm?: string;
}

/** The namespaces a container joins. A path joins; undefined means the host's. */
export interface ContainerNamespaces {
  /** The pod's network namespace; undefined = host network. */
  network?: string;
  /** The pod's IPC namespace (/proc/PAUSE/ns/ipc); 'new' = a private one; undefined = host IPC. */
  ipc?: string | 'new';
  /** The pod's UTS namespace; 'new' = a private one; undefined = host UTS (host-network pods). */
  uts?: string | 'new';
  /** A path to join (the pod's or a target container's), 'new' (CONTAINER mode) or 'host'. */
  pid?: string | 'new' | 'host';
}

/** Facts about the host the translation must respect; shared by both builders. */
export interface HostFacts {
  /** The runtime's own oom_score_adj: no process may get a lower one (root lacks CAP_SYS_RESOURCE). */
  minOomScoreAdj: number;
  /** cgroup v2 (unified) host: containers get a cgroup namespace and `unified` resources apply. */
  cgroupV2: boolean;
  /**
   * The capabilities the runtime itself holds (its bounding set, e.g. from
   * parseCapabilityMask(CapBnd)). Privileged and "ALL" expand to these; asking for any other is an
   * error, since runc cannot grant what it lacks. Default: every capability.
   */
  availableCapabilities?: readonly string[];
  /** Reads a Localhost seccomp profile (CRI localhost_ref) and returns its JSON text. */
  seccompLocalhost?: (path: string) => string;
}

/** Input of buildContainerSpec. */
export interface ContainerSpecInput extends HostFacts {
  /** The container id (not written into the spec; used in error messages). */
  id?: string;
  sandboxId: string;
  config: ContainerConfig__Output;
  sandboxConfig: PodSandboxConfig__Output;
  image: ImageConfigInput;
  /** The image reference for the image-name annotation (default: config.image.image). */
  imageName?: string;
  /** Host path of the container's root filesystem (its overlay mount). */
  rootfsPath: string;
  /** Contents of the image's /etc/passwd, undefined when the image has none. */
  passwd?: string;
  /** Contents of the image's /etc/group, undefined when the image has none. */
  group?: string;
  namespaces: ContainerNamespaces;
  cgroupsPath: string;
  sandboxFiles: SandboxFiles;
  /** The pod's hostname: HOSTNAME in the environment and the UTS hostname. */
  hostname: string;
  /** AppArmor is usable on this host (default false: profiles other than unconfined/runtime-default are refused). */
  apparmorEnabled?: boolean;
  /** stat(2) of a CRI device's host path; undefined when it is not a device node. */
  deviceInfo?: (hostPath: string) => DeviceInfo | undefined;
  /** The host's device nodes, given to privileged containers (as containerd does). */
  hostDevices?: OciLinuxDevice[];
  /** memory+swap accounting exists (cgroup v1 memory.memsw.*); default true. */
  swapAvailable?: boolean;
  /** The hugetlb controller exists; default true. Without it hugepage limits are dropped. */
  hugetlbAvailable?: boolean;
}

/** Input of buildSandboxSpec (the pause container). */
export interface SandboxSpecInput extends HostFacts {
  /** The sandbox id (annotation io.kubernetes.cri.sandbox-id). */
  id: string;
  config: PodSandboxConfig__Output;
  /** The read-only pause rootfs. */
  rootfsPath: string;
  /** The pause command; default ["/pause"]. */
  args?: string[];
  /** Environment of the pause process; default just PATH. */
  env?: string[];
  /** The pod's network namespace; null/undefined with network NODE = host network. */
  netnsPath?: string | null;
  /** IPC and UTS namespaces made and pinned beforehand, joined by path; absent: the pause makes its own. */
  namespacePaths?: { ipc?: string; uts?: string };
  cgroupsPath: string;
  /** The pod hostname set in its new UTS namespace (default config.hostname). */
  hostname?: string;
  /** /dev/shm and /etc/resolv.conf for the pause container (read-only binds). */
  sandboxFiles?: Pick<SandboxFiles, 'shm' | 'resolvConf'>;
}
