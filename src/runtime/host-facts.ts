import { existsSync, readFileSync, statSync, readdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { invalidArgument } from '../lib/index.js';
import { readFile } from 'node:fs/promises';
import { parseCapabilityMask, type DeviceInfo, type OciLinuxDevice } from './spec/index.js';
import type { CgroupMode } from '../host/index.js';

/** What this host allows, read once at startup and handed to the CRI→OCI translation. */
export interface HostFacts {
  /** The daemon's bounding capabilities: a privileged container cannot get more. */
  readonly capabilities: readonly string[];
  /** The daemon's oom_score_adj: no container may get less (lowering it needs CAP_SYS_RESOURCE). */
  readonly minOomScoreAdj: number;
  readonly cgroupV2: boolean;
  /** Whether memory+swap limits can be set (memory.memsw.* on v1, memory.swap.max on v2). */
  readonly swapAvailable: boolean;
  /** Whether the hugetlb controller exists. */
  readonly hugetlbAvailable: boolean;
  /** Whether AppArmor is enabled (named profiles can then be applied; runc loads none itself). */
  readonly apparmorEnabled: boolean;
}

export async function readHostFacts(cgroupRoot: string, mode: CgroupMode): Promise<HostFacts> {
  const status = await readFile('/proc/self/status', 'utf8');
  const bnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0';
  const v2 = mode === 'v2';
  return {
    capabilities: parseCapabilityMask(bnd),
    minOomScoreAdj: Number((await readFile('/proc/self/oom_score_adj', 'utf8')).trim()),
    cgroupV2: v2,
    swapAvailable: v2 ? true : existsSync(join(cgroupRoot, 'memory', 'memory.memsw.limit_in_bytes')),
    apparmorEnabled: (await readFile('/sys/module/apparmor/parameters/enabled', 'utf8').catch(() => 'N')).trim() === 'Y',
    hugetlbAvailable: v2 ? (await readFile(join(cgroupRoot, 'cgroup.controllers'), 'utf8').catch(() => '')).includes('hugetlb') : existsSync(join(cgroupRoot, 'hugetlb')),
  };
}

/** Major/minor numbers of a device file (st_rdev as Linux encodes it). */
function majorMinor(rdev: number): { major: number; minor: number } {
  return { major: ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff), minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) };
}

/** The device behind a host path (for CRI devices), undefined when it is not a device. */
export function deviceInfo(hostPath: string): DeviceInfo | undefined {
  let st;
  try {
    st = statSync(hostPath);
  } catch {
    return undefined;
  }
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : st.isFIFO() ? 'p' : undefined;
  if (!type) return undefined;
  return { type, ...majorMinor(st.rdev), fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

/** Every device under /dev (a privileged container gets them all, as with containerd). */
export function hostDevices(dir = '/dev'): OciLinuxDevice[] {
  const out: OciLinuxDevice[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (p === '/dev/pts' || p === '/dev/shm' || p === '/dev/mqueue') continue;
        walk(p);
      } else if (e.isCharacterDevice() || e.isBlockDevice()) {
        const info = deviceInfo(p);
        if (info) out.push({ path: p, ...info });
      }
    }
  };
  try {
    walk(dir);
  } catch {
    // /dev unreadable: privileged containers get no extra devices
  }
  return out;
}

/**
 * A Localhost seccomp profile named by the pod. Read synchronously because the translation is pure
 * and synchronous; it is a small local file.
 */
export function readLocalhostProfile(path: string): string {
  if (!isAbsolute(path)) throw invalidArgument(`seccomp localhost profile must be an absolute path: "${path}"`);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw invalidArgument(`cannot read seccomp profile ${path}: ${(err as Error).message}`);
  }
}
