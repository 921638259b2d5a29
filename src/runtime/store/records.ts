import type { ContainerConfig__Output, PodSandboxConfig__Output } from '../../cri/index.js';

/**
 * Sandbox states. `creating` is persisted before the first side effect so that a daemon killed midway
 * through RunPodSandbox finds the record on restart and rolls it back; clients never see it.
 */
export type SandboxState = 'creating' | 'ready' | 'notready';

/** Container states, as CRI knows them (CONTAINER_CREATED / RUNNING / EXITED). */
export type ContainerState = 'created' | 'running' | 'exited';

/** What corelet remembers about a pod sandbox, persisted as sandboxes/<id>/sandbox.json. */
export interface SandboxRecord {
  id: string;
  /** Reserved name built from the metadata (one sandbox per name and attempt). */
  name: string;
  config: PodSandboxConfig__Output;
  runtimeHandler: string;
  state: SandboxState;
  /** Nanoseconds since the epoch, decimal. */
  createdAt: string;
  /** Path of the network namespace, or null for host network. */
  netnsPath: string | null;
  ip: string;
  additionalIps: string[];
  /** PID of the pause process (0 when not running). */
  pausePid: number;
  /**
   * The pause process's start time (/proc/<pid>/stat field 22) taken when it was created: a pid
   * with another start time is a recycled one, whose namespaces are never joined. Absent in
   * records of older versions.
   */
  pauseStartTime?: string;
  /**
   * The boot (/proc/sys/kernel/random/boot_id) in which the recorded pids ran: after a reboot they
   * are gone whatever now holds the same pid and start time. Absent in records of older versions.
   */
  bootId?: string;
  /** The conmon monitoring the process, its pid and start time (absent in older records). */
  conmonPid?: number;
  conmonStartTime?: string;
  /** True once StopPodSandbox has run (NOTREADY without it: the pause died, resources still held). */
  stopped?: boolean;
  /** Bind-mounted IPC/UTS namespace files of the pod, which containers join (absent: not pinned). */
  nsPins?: { ipc?: string; uts?: string };
  /** cgroupfs path of the pod's parent cgroup; pause and containers live below it. */
  cgroupParent: string;
  /** The parent's slice under the systemd cgroup driver (cgroupParent is then its expanded path); absent: cgroupfs. */
  cgroupSlice?: string;
  /** True when the runtime made the parent (the leaf of cgroupParent, or its own pod slice) and so removes it with the sandbox. */
  ownsCgroupParent: boolean;
  /**
   * The folders of cgroupParent (outermost first) the runtime made or shares with another pod that
   * made them, removed with the last pod under them (sandbox/cgroup-ownership.ts). Absent in
   * records written before it: ownsCgroupParent alone decides.
   */
  ownedCgroups?: string[];
  /** True when /dev/shm of the pod is a tmpfs mounted by corelet on the host. */
  shmMounted: boolean;
}

/** What corelet remembers about a container, persisted as containers/<id>/container.json. */
export interface ContainerRecord {
  id: string;
  sandboxId: string;
  /** Reserved name built from the sandbox and container metadata. */
  name: string;
  config: RecordedContainerConfig;
  /** The image the client asked for (as given) and the resolved image id. */
  imageName: string;
  imageId: string;
  state: ContainerState;
  createdAt: string;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  reason: string;
  message: string;
  pid: number;
  /**
   * The container process's start time (/proc/<pid>/stat field 22) taken at create: a pid that is
   * gone, or held by a process with another start time, means the container ended. Absent in
   * records of older versions.
   */
  pidStartTime?: string;
  /**
   * The boot (/proc/sys/kernel/random/boot_id) in which the recorded pids ran: after a reboot they
   * are gone whatever now holds the same pid and start time. Absent in records of older versions.
   */
  bootId?: string;
  /** The conmon monitoring the process, its pid and start time (absent in older records). */
  conmonPid?: number;
  conmonStartTime?: string;
  /** Absolute path of the CRI log file ('' when the pod asked for none). */
  logPath: string;
  /** cgroupfs path of the container's cgroup (under systemd: <slice path>/corelet-<id>.scope). */
  cgroupsPath: string;
  /**
   * Under systemd: the pod slice's OOM kill count when the container started. The scope (and its
   * own count) is gone once its last process is, so an exit with 137 and a slice count above this
   * is taken as an OOM kill (another container of the pod killed at the same moment would be
   * counted too: the kubelet's reading of a pod slice has the same limit). Stored before the OCI
   * start, so an instant OOM kill finds it.
   */
  parentOomKillsAtStart?: number;
  /** Set before the runtime itself sends SIGKILL (a stop past its grace period): that exit 137 is no OOM kill. */
  killedByRuntime?: boolean;
  /** Signal sent by StopContainer before SIGKILL. */
  stopSignal: number;
  /** uid/gid the container runs as (from the OCI spec), for ContainerStatus.user. */
  user: { uid: number; gid: number; additionalGids: number[] };
}

/**
 * The container config as its record keeps it: the CRI request, but env values (bytes since CRI
 * v1.37) as their UTF-8 text, so the record's JSON, its copies and a reloaded record agree (a
 * Buffer turns into a byte-indexed object through structuredClone and JSON).
 */
export type RecordedContainerConfig = Omit<ContainerConfig__Output, 'envs'> & { envs: { key: string; value: string }[] };
