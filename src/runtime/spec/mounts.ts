/**
 * Mounts of a container: the default kernel filesystems, the CRI bind mounts and the pod's files
 * (/etc/hosts, /etc/resolv.conf, /etc/hostname, /dev/shm), merged the way containerd merges them.
 */
import { posix } from 'node:path';
import { invalidArgument } from '../../lib/index.js';
import type { Mount__Output } from '../../cri/index.js';
import type { OciMount, SandboxFiles } from './types.js';

/** The mounts every container starts with (before CRI mounts override them). */
export function defaultMounts(opts: { privileged: boolean; cgroupMount: boolean }): OciMount[] {
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    // Privileged containers get a writable /sys and cgroupfs (Docker's and containerd's behaviour).
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', opts.privileged ? 'rw' : 'ro'] },
  ];
  if (opts.cgroupMount) {
    mounts.push({
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', opts.privileged ? 'rw' : 'ro'],
    });
  }
  return mounts;
}

/** A normalised absolute container path ("/a/b/" → "/a/b"). */
export function cleanPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** A bind mount request: a CRI mount, or one of the pod's files. */
interface BindRequest {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
  recursiveReadOnly: boolean;
  propagation: string;
  /** CRI v1.37 mount_options: extra flags for the bind (noexec, nodev, nosuid). */
  extra: string[];
}

/** The mount_options a CRI mount may ask for (CRI v1.37; RuntimeFeatures.mount_options says so). */
const MOUNT_OPTIONS = new Set(['noexec', 'nodev', 'nosuid']);

function fromCri(m: Mount__Output): BindRequest {
  if (!m.container_path || !m.container_path.startsWith('/')) {
    throw invalidArgument(`mount container_path must be an absolute path, got "${m.container_path ?? ''}"`);
  }
  if (!m.host_path) {
    throw invalidArgument(
      m.image ? `image volume at ${m.container_path} was not resolved to its image's rootfs (container/image-volumes.ts does it)` : `mount at ${m.container_path} has no host_path`,
    );
  }
  return {
    containerPath: m.container_path,
    hostPath: m.host_path,
    readonly: Boolean(m.readonly),
    recursiveReadOnly: Boolean(m.recursive_read_only),
    propagation: m.propagation ?? 'PROPAGATION_PRIVATE',
    extra: mountOptions(m),
  };
}

function mountOptions(m: Mount__Output): string[] {
  const out: string[] = [];
  for (const o of m.mount_options ?? []) {
    if (!MOUNT_OPTIONS.has(o)) {
      throw invalidArgument(`mount at ${m.container_path}: mount_options ${JSON.stringify(o)} is not supported (supported: ${[...MOUNT_OPTIONS].join(', ')})`);
    }
    if (!out.includes(o)) out.push(o);
  }
  return out;
}

/** The result of merging mounts: the list and the root propagation the binds require. */
export interface MountPlan {
  mounts: OciMount[];
  rootfsPropagation?: string;
}

/**
 * Merges mounts as containerd does: the pod's files are added unless a CRI mount has the same
 * destination; binds are ordered by path depth (so /a is mounted before /a/b); a default mount is
 * dropped when a bind targets its destination, and every default under /dev when /dev itself is
 * bound. Propagation: PRIVATE → rprivate; HOST_TO_CONTAINER → rslave (root at least rslave);
 * BIDIRECTIONAL → rshared (root rshared). selinux_relabel is ignored (no SELinux here).
 */
export function mergeMounts(opts: {
  defaults: OciMount[];
  criMounts: readonly Mount__Output[];
  sandboxFiles: SandboxFiles;
  /** The pod's /etc files are mounted read-only when the rootfs is. */
  readonlyRootfs: boolean;
}): MountPlan {
  const binds = opts.criMounts.map(fromCri);
  const taken = new Set(binds.map((b) => cleanPath(b.containerPath)));
  const files: [string, string | undefined, boolean][] = [
    ['/etc/hostname', opts.sandboxFiles.hostname, opts.readonlyRootfs],
    ['/etc/hosts', opts.sandboxFiles.hosts, opts.readonlyRootfs],
    ['/etc/resolv.conf', opts.sandboxFiles.resolvConf, opts.readonlyRootfs],
    ['/dev/shm', opts.sandboxFiles.shm, false],
  ];
  for (const [dest, hostPath, ro] of files) {
    if (hostPath && !taken.has(dest)) {
      binds.push({ containerPath: dest, hostPath, readonly: ro, recursiveReadOnly: false, propagation: 'PROPAGATION_PRIVATE', extra: [] });
    }
  }
  const depth = (p: string) => cleanPath(p).split('/').length;
  binds.sort((a, b) => depth(a.containerPath) - depth(b.containerPath)); // stable: equal depths keep request order

  const bound = new Set(binds.map((b) => cleanPath(b.containerPath)));
  const mounts = opts.defaults.filter((m) => {
    const dest = cleanPath(m.destination);
    if (bound.has(dest)) return false;
    if (bound.has('/dev') && dest.startsWith('/dev/')) return false;
    return true;
  });

  let rootfsPropagation: string | undefined;
  for (const b of binds) {
    const options = ['rbind'];
    switch (b.propagation) {
      case 'PROPAGATION_BIDIRECTIONAL':
        options.push('rshared');
        rootfsPropagation = 'rshared';
        break;
      case 'PROPAGATION_HOST_TO_CONTAINER':
        options.push('rslave');
        if (rootfsPropagation !== 'rshared') rootfsPropagation = 'rslave';
        break;
      default:
        options.push('rprivate');
    }
    if (b.recursiveReadOnly) {
      // Recursive read-only needs a private mount that is read-only itself (CRI contract).
      if (!b.readonly) throw invalidArgument(`mount at ${b.containerPath}: recursive_read_only requires readonly`);
      if (b.propagation !== 'PROPAGATION_PRIVATE') {
        throw invalidArgument(`mount at ${b.containerPath}: recursive_read_only requires private propagation`);
      }
      options.push('rro');
    } else {
      options.push(b.readonly ? 'ro' : 'rw');
    }
    options.push(...b.extra);
    mounts.push({ destination: b.containerPath, type: 'bind', source: b.hostPath, options });
  }
  return { mounts, rootfsPropagation };
}
