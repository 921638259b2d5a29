/**
 * Seccomp: corelet's RuntimeDefault profile (an allow-list in the spirit of Docker's and
 * containerd's default), Docker-format profile files (Localhost) converted to the OCI shape, and
 * the CRI rules choosing between them.
 */
import { invalidArgument, messageOf } from '../../lib/index.js';
import type { SecurityProfile__Output } from '../../cri/index.js';
import type { OciSeccomp, OciSeccompArg, OciSeccompRule, SeccompAction, SeccompOperator } from './types.js';

/**
 * What the profiles depend on in the host's CPU architecture: the seccomp ABIs a filter covers (the
 * native one first, then the compat ABIs the kernel also runs, e.g. i386 and x32 binaries on
 * x86_64), the names profile files use for it (Docker's includes/excludes `arches` use Go's
 * GOARCH), the calls only that architecture has, and which clone(2) argument holds the flags.
 */
export interface SeccompArch {
  /** The native ABI, SCMP_ARCH_*; undefined where corelet knows none (runc then uses the native one). */
  native?: string;
  /** The filter's architectures: the native ABI and its compat ABIs (containerd's and runc's lists). */
  architectures: readonly string[];
  /** Go's GOARCH for it, as Docker-format profiles name architectures. */
  goArch?: string;
  /** Architecture-specific calls the default profile allows (containerd's per-GOARCH additions). */
  syscalls: readonly string[];
  /** The clone(2) argument holding the flags: 0, or 1 on s390 (its clone swaps the first two). */
  cloneFlagsArg: number;
}

/**
 * By Node's process.arch, as containerd's default profile picks by GOARCH (amd64 → X86_64, X86,
 * X32; arm64 → AARCH64, ARM; s390x → S390X, S390; …); an architecture not listed gets an empty
 * list, which runc reads as "the native ABI only", as containerd does.
 */
const SECCOMP_ARCHES: Readonly<Record<string, SeccompArch>> = {
  x64: { native: 'SCMP_ARCH_X86_64', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'], goArch: 'amd64', syscalls: ['arch_prctl', 'modify_ldt'], cloneFlagsArg: 0 },
  ia32: { native: 'SCMP_ARCH_X86', architectures: ['SCMP_ARCH_X86'], goArch: '386', syscalls: ['modify_ldt'], cloneFlagsArg: 0 },
  arm64: {
    native: 'SCMP_ARCH_AARCH64',
    architectures: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
    goArch: 'arm64',
    syscalls: ['arm_fadvise64_64', 'arm_sync_file_range', 'breakpoint', 'cacheflush', 'set_tls', 'sync_file_range2'],
    cloneFlagsArg: 0,
  },
  arm: { native: 'SCMP_ARCH_ARM', architectures: ['SCMP_ARCH_ARM'], goArch: 'arm', syscalls: ['arm_fadvise64_64', 'arm_sync_file_range', 'breakpoint', 'cacheflush', 'set_tls', 'sync_file_range2'], cloneFlagsArg: 0 },
  s390x: { native: 'SCMP_ARCH_S390X', architectures: ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390'], goArch: 's390x', syscalls: ['s390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr'], cloneFlagsArg: 1 },
  ppc64: { native: 'SCMP_ARCH_PPC64LE', architectures: ['SCMP_ARCH_PPC64LE'], goArch: 'ppc64le', syscalls: ['sync_file_range2', 'swapcontext'], cloneFlagsArg: 0 },
  riscv64: { native: 'SCMP_ARCH_RISCV64', architectures: ['SCMP_ARCH_RISCV64'], goArch: 'riscv64', syscalls: ['riscv_flush_icache'], cloneFlagsArg: 0 },
  loong64: { native: 'SCMP_ARCH_LOONGARCH64', architectures: ['SCMP_ARCH_LOONGARCH64'], goArch: 'loong64', syscalls: [], cloneFlagsArg: 0 },
};

/** The seccomp view of a Node architecture name (process.arch by default). */
export function seccompArch(arch: string = process.arch): SeccompArch {
  return SECCOMP_ARCHES[arch] ?? { architectures: [], syscalls: [], cloneFlagsArg: 0 };
}

const EPERM = 1;
const ENOSYS = 38;

/*
 * The allow-list, grouped by what the calls are for. Names unknown to a given ABI or to the
 * installed libseccomp are skipped by runc, so 32-bit variants and very new calls can be listed.
 * Left out on purpose (they stay EPERM): kernel keyring (add_key, keyctl, request_key), module,
 * kexec, swap, reboot, clock setting, accounting, namespace creation and mounting (unless the
 * container holds the capability that makes them meaningful, see CAPABILITY_SYSCALLS), io_uring,
 * userfaultfd, obsolete calls (uselib, ustat, sysfs, _sysctl, nfsservctl, vm86) and perf/bpf.
 */
const FILE_SYSCALLS = [
  'access', 'chdir', 'chmod', 'chown', 'chown32', 'close', 'close_range', 'copy_file_range', 'creat',
  'dup', 'dup2', 'dup3', 'faccessat', 'faccessat2', 'fadvise64', 'fadvise64_64', 'fallocate',
  'fanotify_mark', 'fchdir', 'fchmod', 'fchmodat', 'fchmodat2', 'fchown', 'fchown32', 'fchownat',
  'fcntl', 'fcntl64', 'fdatasync', 'fgetxattr', 'flistxattr', 'flock', 'fremovexattr', 'fsetxattr',
  'fstat', 'fstat64', 'fstatat64', 'fstatfs', 'fstatfs64', 'fsync', 'ftruncate', 'ftruncate64',
  'futimesat', 'getcwd', 'getdents', 'getdents64', 'getxattr', 'getxattrat', 'inotify_add_watch',
  'inotify_init', 'inotify_init1', 'inotify_rm_watch', 'lchown', 'lchown32', 'lgetxattr', 'link',
  'linkat', 'listxattr', 'listxattrat', 'llistxattr', '_llseek', 'lremovexattr', 'lseek', 'lsetxattr',
  'lstat', 'lstat64', 'mkdir', 'mkdirat', 'mknod', 'mknodat', 'newfstatat', 'open', 'openat', 'openat2',
  'pread64', 'preadv', 'preadv2', 'pwrite64', 'pwritev', 'pwritev2', 'read', 'readahead', 'readlink',
  'readlinkat', 'readv', 'removexattr', 'removexattrat', 'rename', 'renameat', 'renameat2', 'rmdir',
  'sendfile', 'sendfile64', 'setxattr', 'setxattrat', 'splice', 'stat', 'stat64', 'statfs', 'statfs64',
  'statx', 'symlink', 'symlinkat', 'sync', 'sync_file_range', 'syncfs', 'tee', 'truncate', 'truncate64',
  'umask', 'unlink', 'unlinkat', 'utime', 'utimensat', 'utimensat_time64', 'utimes', 'vmsplice', 'write',
  'writev', 'ioctl',
];

const MEMORY_SYSCALLS = [
  'brk', 'cachestat', 'madvise', 'map_shadow_stack', 'membarrier', 'memfd_create', 'memfd_secret',
  'mincore', 'mlock', 'mlock2', 'mlockall', 'mmap', 'mmap2', 'mprotect', 'mremap', 'mseal', 'msync',
  'munlock', 'munlockall', 'munmap', 'pkey_alloc', 'pkey_free', 'pkey_mprotect', 'remap_file_pages',
];

const PROCESS_SYSCALLS = [
  'capget', 'capset', 'execve', 'execveat', 'exit', 'exit_group', 'fork', 'vfork', 'getcpu', 'getegid',
  'getegid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getgroups', 'getgroups32', 'getpgid',
  'getpgrp', 'getpid', 'getppid', 'getpriority', 'getrandom', 'getresgid', 'getresgid32', 'getresuid',
  'getresuid32', 'getrlimit', 'get_robust_list', 'getrusage', 'getsid', 'get_thread_area', 'gettid',
  'getuid', 'getuid32', 'ioprio_get', 'ioprio_set', 'landlock_add_rule', 'landlock_create_ruleset',
  'landlock_restrict_self', 'pidfd_open', 'pidfd_send_signal', 'prctl', 'prlimit64', 'process_mrelease',
  'restart_syscall', 'rseq', 'seccomp', 'setfsgid', 'setfsgid32', 'setfsuid', 'setfsuid32', 'setgid',
  'setgid32', 'setgroups', 'setgroups32', 'setpgid', 'setpriority', 'setregid', 'setregid32', 'setresgid',
  'setresgid32', 'setresuid', 'setresuid32', 'setreuid', 'setreuid32', 'setrlimit', 'set_robust_list',
  'setsid', 'set_thread_area', 'set_tid_address', 'setuid', 'setuid32', 'sysinfo', 'times', 'ugetrlimit',
  'uname', 'wait4', 'waitid', 'waitpid',
  // Tracing one's own children needs no capability; the kernel's ptrace rules still apply.
  'ptrace', 'process_vm_readv', 'process_vm_writev',
];

const SIGNAL_SYSCALLS = [
  'kill', 'pause', 'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask', 'rt_sigqueueinfo', 'rt_sigreturn',
  'rt_sigsuspend', 'rt_sigtimedwait', 'rt_sigtimedwait_time64', 'rt_tgsigqueueinfo', 'sigaltstack',
  'signalfd', 'signalfd4', 'sigprocmask', 'sigreturn', 'tgkill', 'tkill',
];

const TIME_SYSCALLS = [
  'adjtimex', 'alarm', 'clock_getres', 'clock_getres_time64', 'clock_gettime', 'clock_gettime64',
  'clock_nanosleep', 'clock_nanosleep_time64', 'getitimer', 'gettimeofday', 'nanosleep', 'setitimer',
  'time', 'timer_create', 'timer_delete', 'timer_getoverrun', 'timer_gettime', 'timer_gettime64',
  'timer_settime', 'timer_settime64', 'timerfd_create', 'timerfd_gettime', 'timerfd_gettime64',
  'timerfd_settime', 'timerfd_settime64',
];

const EVENT_SYSCALLS = [
  'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_pwait', 'epoll_pwait2',
  'epoll_wait', 'epoll_wait_old', 'eventfd', 'eventfd2', 'futex', 'futex_requeue', 'futex_time64',
  'futex_wait', 'futex_waitv', 'futex_wake', 'io_cancel', 'io_destroy', 'io_getevents', 'io_pgetevents',
  'io_pgetevents_time64', 'io_setup', 'io_submit', '_newselect', 'pipe', 'pipe2', 'poll', 'ppoll',
  'ppoll_time64', 'pselect6', 'pselect6_time64', 'select',
];

const NETWORK_SYSCALLS = [
  'accept', 'accept4', 'bind', 'connect', 'getpeername', 'getsockname', 'getsockopt', 'listen', 'recv',
  'recvfrom', 'recvmmsg', 'recvmmsg_time64', 'recvmsg', 'send', 'sendmmsg', 'sendmsg', 'sendto',
  'setsockopt', 'shutdown', 'socketcall', 'socketpair',
];

const IPC_SYSCALLS = [
  'ipc', 'mq_getsetattr', 'mq_notify', 'mq_open', 'mq_timedreceive', 'mq_timedreceive_time64',
  'mq_timedsend', 'mq_timedsend_time64', 'mq_unlink', 'msgctl', 'msgget', 'msgrcv', 'msgsnd', 'semctl',
  'semget', 'semop', 'semtimedop', 'semtimedop_time64', 'shmat', 'shmctl', 'shmdt', 'shmget',
];

const SCHED_SYSCALLS = [
  'sched_getaffinity', 'sched_getattr', 'sched_getparam', 'sched_get_priority_max',
  'sched_get_priority_min', 'sched_getscheduler', 'sched_rr_get_interval', 'sched_rr_get_interval_time64',
  'sched_setaffinity', 'sched_setattr', 'sched_setparam', 'sched_setscheduler', 'sched_yield',
];

/** Calls that only make sense with a capability, allowed when the container holds it. */
const CAPABILITY_SYSCALLS: Record<string, string[]> = {
  CAP_DAC_READ_SEARCH: ['open_by_handle_at'],
  CAP_SYS_ADMIN: [
    'bpf', 'clone', 'clone3', 'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lookup_dcookie',
    'mount', 'mount_setattr', 'move_mount', 'name_to_handle_at', 'open_tree', 'perf_event_open',
    'quotactl', 'quotactl_fd', 'setdomainname', 'sethostname', 'setns', 'syslog', 'umount', 'umount2',
    'unshare',
  ],
  CAP_SYS_BOOT: ['reboot'],
  CAP_SYS_CHROOT: ['chroot'],
  CAP_SYS_MODULE: ['delete_module', 'init_module', 'finit_module'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_PTRACE: ['kcmp', 'pidfd_getfd', 'process_madvise'],
  CAP_SYS_RAWIO: ['iopl', 'ioperm'],
  CAP_SYS_TIME: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'clock_adjtime', 'clock_adjtime64'],
  CAP_SYS_TTY_CONFIG: ['vhangup'],
  CAP_SYS_NICE: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'],
  CAP_SYSLOG: ['syslog'],
  CAP_BPF: ['bpf'],
  CAP_PERFMON: ['perf_event_open'],
};

/** The clone(2) flags that create namespaces; without CAP_SYS_ADMIN clone may not use them. */
const CLONE_NAMESPACE_FLAGS =
  0x00020000 /* NEWNS */ | 0x02000000 /* NEWCGROUP */ | 0x04000000 /* NEWUTS */ | 0x08000000 /* NEWIPC */ |
  0x10000000 /* NEWUSER */ | 0x20000000 /* NEWPID */ | 0x40000000; /* NEWNET */

/** personality(2) values allowed: Linux, 32-bit Linux, UNAME26 variants, and the 0xffffffff query. */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/** AF_VSOCK would reach the hypervisor or other VMs; blocked as Docker does. */
const AF_VSOCK = 40;

/**
 * corelet's RuntimeDefault seccomp profile for the host's architecture (`arch`, Node's
 * process.arch by default): unknown system calls fail with EPERM; the
 * allow-list covers what ordinary programs (shells, libc, Go and Node runtimes, web servers)
 * call, plus the architecture's own (on x86_64 arch_prctl, which every program's startup uses for
 * TLS, and modify_ldt). Capability-gated calls are allowed when `capabilities` (the container's bounding set)
 * holds the capability; without CAP_SYS_ADMIN, clone may not create namespaces and clone3 reports
 * ENOSYS so libc falls back to clone, whose flags can be checked.
 */
export function defaultSeccompProfile(capabilities: readonly string[] = [], arch: string = process.arch): OciSeccomp {
  const a = seccompArch(arch);
  const caps = new Set(capabilities);
  const allowed = [
    ...FILE_SYSCALLS,
    ...MEMORY_SYSCALLS,
    ...PROCESS_SYSCALLS,
    ...SIGNAL_SYSCALLS,
    ...TIME_SYSCALLS,
    ...EVENT_SYSCALLS,
    ...NETWORK_SYSCALLS,
    ...IPC_SYSCALLS,
    ...SCHED_SYSCALLS,
    ...a.syscalls,
  ];
  const gated: string[] = [];
  for (const [cap, names] of Object.entries(CAPABILITY_SYSCALLS)) if (caps.has(cap)) gated.push(...names);
  const syscalls: OciSeccompRule[] = [{ names: [...new Set([...allowed, ...gated])].sort(), action: 'SCMP_ACT_ALLOW' }];
  syscalls.push({
    names: ['socket'],
    action: 'SCMP_ACT_ALLOW',
    args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }],
  });
  for (const p of PERSONALITIES) {
    syscalls.push({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: p, op: 'SCMP_CMP_EQ' }] });
  }
  if (!caps.has('CAP_SYS_ADMIN')) {
    syscalls.push({
      names: ['clone'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: a.cloneFlagsArg, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
    });
    syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  }
  return { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: EPERM, architectures: [...a.architectures], syscalls };
}

const ACTIONS = new Set<SeccompAction>([
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
]);
const OPERATORS = new Set<SeccompOperator>([
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
]);

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function stringList(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidArgument(`seccomp profile: ${what} must be a list of strings`);
  return v as string[];
}

function action(v: unknown, what: string): SeccompAction {
  if (typeof v !== 'string' || !ACTIONS.has(v as SeccompAction)) throw invalidArgument(`seccomp profile: ${what} "${String(v)}" is not a known action`);
  return v as SeccompAction;
}

function uint(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw invalidArgument(`seccomp profile: ${what} must be a non-negative integer`);
  return v;
}

/** Whether a profile's `arches` entry names our architecture (its SCMP_ARCH_* or Go name). */
function isOurArch(name: string, arch: SeccompArch): boolean {
  return name === arch.native || name === arch.goArch;
}

/** A Docker-style includes/excludes filter against our arch and the container's capabilities. */
function conditionHolds(cond: unknown, caps: ReadonlySet<string>, want: boolean, arch: SeccompArch): boolean {
  if (!isObject(cond)) return want; // no condition: include, never exclude
  const condCaps = stringList(cond.caps, 'caps');
  const arches = stringList(cond.arches, 'arches');
  if (want) {
    // includes: every listed capability held, and our arch among the listed ones
    if (!condCaps.every((c) => caps.has(c))) return false;
    if (arches.length && !arches.some((a) => isOurArch(a, arch))) return false;
    return true; // minKernel is assumed satisfied: corelet needs a modern kernel anyway
  }
  // excludes: any listed capability held, or our arch listed
  if (condCaps.some((c) => caps.has(c))) return true;
  if (arches.some((a) => isOurArch(a, arch))) return true;
  return false;
}

/**
 * Converts a seccomp profile file (Docker's format, which is also what the kubelet's
 * Localhost profiles use; an OCI-shaped profile is accepted as is) into the OCI seccomp object.
 * `capabilities` is the container's bounding set, for the includes/excludes conditions; `arch`
 * (Node's process.arch by default) picks the archMap entry and the arch conditions. Throws
 * InvalidArgument when the text is not a valid profile.
 */
export function parseSeccompProfile(text: string, capabilities: readonly string[] = [], arch: string = process.arch): OciSeccomp {
  const ours = seccompArch(arch);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`seccomp profile is not valid JSON: ${(err as Error).message}`, err);
  }
  if (!isObject(raw)) throw invalidArgument('seccomp profile must be a JSON object');
  const caps = new Set(capabilities);
  const out: OciSeccomp = { defaultAction: action(raw.defaultAction, 'defaultAction'), architectures: [], syscalls: [] };
  if (raw.defaultErrnoRet !== undefined) out.defaultErrnoRet = uint(raw.defaultErrnoRet, 'defaultErrnoRet');

  const arches = stringList(raw.architectures, 'architectures');
  if (arches.length && Array.isArray(raw.archMap) && raw.archMap.length) {
    throw invalidArgument('seccomp profile: use either architectures or archMap, not both');
  }
  if (arches.length) {
    out.architectures = arches;
  } else if (Array.isArray(raw.archMap)) {
    for (const entry of raw.archMap) {
      if (!isObject(entry) || typeof entry.architecture !== 'string') throw invalidArgument('seccomp profile: archMap entries need an architecture');
      if (ours.native !== undefined && entry.architecture === ours.native) out.architectures.push(ours.native, ...stringList(entry.subArchitectures, 'subArchitectures'));
    }
  }
  const flags = stringList(raw.flags, 'flags');
  if (flags.length) out.flags = flags;
  if (typeof raw.listenerPath === 'string' && raw.listenerPath) out.listenerPath = raw.listenerPath;
  if (typeof raw.listenerMetadata === 'string' && raw.listenerMetadata) out.listenerMetadata = raw.listenerMetadata;

  if (raw.syscalls !== undefined && raw.syscalls !== null && !Array.isArray(raw.syscalls)) {
    throw invalidArgument('seccomp profile: syscalls must be a list');
  }
  for (const [i, s] of ((raw.syscalls as unknown[] | undefined) ?? []).entries()) {
    if (!isObject(s)) throw invalidArgument(`seccomp profile: syscalls[${i}] must be an object`);
    const names = stringList(s.names, `syscalls[${i}].names`);
    if (typeof s.name === 'string' && s.name) {
      if (names.length) throw invalidArgument(`seccomp profile: syscalls[${i}] has both name and names`);
      names.push(s.name);
    }
    if (names.length === 0) throw invalidArgument(`seccomp profile: syscalls[${i}] names no system call`);
    if (!conditionHolds(s.includes, caps, true, ours) || conditionHolds(s.excludes, caps, false, ours)) continue;
    const rule: OciSeccompRule = { names, action: action(s.action, `syscalls[${i}].action`) };
    if (s.errnoRet !== undefined && s.errnoRet !== null) rule.errnoRet = uint(s.errnoRet, `syscalls[${i}].errnoRet`);
    if (Array.isArray(s.args) && s.args.length) {
      rule.args = s.args.map((a, j): OciSeccompArg => {
        const where = `syscalls[${i}].args[${j}]`;
        if (!isObject(a)) throw invalidArgument(`seccomp profile: ${where} must be an object`);
        if (typeof a.op !== 'string' || !OPERATORS.has(a.op as SeccompOperator)) throw invalidArgument(`seccomp profile: ${where}.op "${String(a.op)}" is not a known operator`);
        const arg: OciSeccompArg = { index: uint(a.index, `${where}.index`), value: uint(a.value ?? 0, `${where}.value`), op: a.op as SeccompOperator };
        if (a.valueTwo !== undefined && a.valueTwo !== null) arg.valueTwo = uint(a.valueTwo, `${where}.valueTwo`);
        return arg;
      });
    } else if (s.args !== undefined && s.args !== null && !Array.isArray(s.args)) {
      throw invalidArgument(`seccomp profile: syscalls[${i}].args must be a list`);
    }
    out.syscalls.push(rule);
  }
  return out;
}

/** The CRI seccomp request, reduced to what corelet acts on. */
export type SeccompChoice = { type: 'Unconfined' } | { type: 'RuntimeDefault' } | { type: 'Localhost'; path: string };

/**
 * Reads the CRI seccomp fields: the SecurityProfile when present, else the deprecated
 * seccomp_profile_path ("", "unconfined", "runtime/default", "docker/default", "localhost/<path>").
 * Neither set means Unconfined, the kubelet's and containerd's default.
 */
export function seccompChoice(profile: SecurityProfile__Output | null | undefined, deprecatedPath: string | undefined): SeccompChoice {
  if (profile) {
    switch (profile.profile_type ?? 'RuntimeDefault') {
      case 'Unconfined':
        return { type: 'Unconfined' };
      case 'Localhost':
        if (!profile.localhost_ref) throw invalidArgument('seccomp Localhost profile without localhost_ref');
        return { type: 'Localhost', path: profile.localhost_ref };
      default:
        return { type: 'RuntimeDefault' };
    }
  }
  const p = deprecatedPath ?? '';
  if (p === '' || p === 'unconfined') return { type: 'Unconfined' };
  if (p === 'runtime/default' || p === 'docker/default') return { type: 'RuntimeDefault' };
  if (p.startsWith('localhost/') && p.length > 'localhost/'.length) return { type: 'Localhost', path: p.slice('localhost/'.length) };
  throw invalidArgument(`unsupported seccomp profile path "${p}"`);
}

/**
 * The seccomp filter of a process (undefined = none): privileged processes and Unconfined get none;
 * RuntimeDefault gets defaultSeccompProfile; Localhost reads the file through `readLocalhost`.
 */
export function resolveSeccomp(
  choice: SeccompChoice,
  opts: { privileged: boolean; capabilities: readonly string[]; readLocalhost?: (path: string) => string },
): OciSeccomp | undefined {
  if (opts.privileged) return undefined;
  switch (choice.type) {
    case 'Unconfined':
      return undefined;
    case 'RuntimeDefault':
      return defaultSeccompProfile(opts.capabilities);
    case 'Localhost': {
      if (!opts.readLocalhost) throw invalidArgument(`seccomp Localhost profile ${choice.path} cannot be read by this runtime`);
      let text: string;
      try {
        text = opts.readLocalhost(choice.path);
      } catch (err) {
        throw invalidArgument(`reading seccomp profile ${choice.path}: ${messageOf(err)}`, err);
      }
      try {
        return parseSeccompProfile(text, opts.capabilities);
      } catch (err) {
        throw invalidArgument(`seccomp profile ${choice.path}: ${messageOf(err)}`, err);
      }
    }
  }
}
