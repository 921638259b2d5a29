/*
 * Where a pod's cgroups go under each cgroup driver: the parent (from the request, or one corelet
 * makes per pod), the pause's and containers' cgroups below it, and the parent's removal.
 */
import { expandSlice, parseSliceParent, refuseSliceUnderCgroupfs, scopeCgroupfsPath, systemdCgroupsPath, type CgroupDriver } from '../../host/index.js';
import type { LifecycleDeps } from '../lifecycle.js';
import type { SandboxRecord } from '../store/index.js';
import { removeOwnedCgroups } from './cgroup-ownership.js';

/** The field a CRI request names its parent in, as errors name it. */
const FIELD = 'config.linux.cgroup_parent';

/** A pod's parent cgroup: its cgroupfs path, and under the systemd driver its slice. */
export interface PodCgroupParent {
  /** cgroupfs path (an expanded slice under systemd): what the stats readers read. */
  cgroupParent: string;
  /** The slice unit under the systemd driver (absent: cgroupfs). */
  cgroupSlice?: string;
}

/**
 * The parent of a new pod's cgroups. cgroupfs: the request's path, or DEFAULT/<id>; a slice there
 * is refused. systemd: the request's slice (its name, or its expanded path as the kubelet sends it;
 * anything else is refused naming the field, as CRI-O refuses it), or, without one, a slice of the
 * pod's own below the default ("corelet.slice" → "corelet-pod<id>.slice").
 */
export function podCgroupParent(driver: CgroupDriver | undefined, requested: string, defaultParent: string, id: string): PodCgroupParent {
  if (driver !== 'systemd') {
    if (requested) refuseSliceUnderCgroupfs(requested, FIELD);
    return { cgroupParent: requested || `${defaultParent}/${id}` };
  }
  let slice: string;
  if (requested) slice = parseSliceParent(requested, FIELD);
  else {
    const stem = parseSliceParent(defaultParent, 'cgroupParent').slice(0, -'.slice'.length);
    slice = stem === '-' ? `pod${id}.slice` : `${stem}-pod${id}.slice`;
  }
  return { cgroupParent: expandSlice(slice), cgroupSlice: slice };
}

/**
 * The cgroup of the pause or a container (id) below the pod's parent: `path` is its cgroupfs path
 * (stats, OOM), `oci` the OCI spec's cgroupsPath. cgroupfs: both PARENT/<id>. systemd: the scope
 * corelet-<id>.scope in the slice, written "<slice>:corelet:<id>" (runc's and crun's
 * slice:prefix:name, the form containerd writes with its cri-containerd prefix).
 */
export function childCgroup(parent: PodCgroupParent, id: string): { path: string; oci: string } {
  if (!parent.cgroupSlice) return { path: `${parent.cgroupParent}/${id}`, oci: `${parent.cgroupParent}/${id}` };
  return { path: scopeCgroupfsPath(parent.cgroupSlice, id), oci: systemdCgroupsPath(parent.cgroupSlice, id) };
}

/**
 * Removes a parent corelet made (never the request's): its slice stopped through systemd (the
 * scopes in it are gone by then: runc delete stops them), then whatever folder is left, if empty.
 */
export async function removePodCgroupParent(d: Pick<LifecycleDeps, 'cgroups' | 'units'>, parent: PodCgroupParent): Promise<void> {
  if (parent.cgroupSlice) {
    if (!d.units) throw new Error(`cannot stop ${parent.cgroupSlice}: no systemd adapter`);
    // A slice still holding a cgroup (another pod's slice nested in it: team.slice holds
    // team-a.slice) or a process stays: stopping it would stop them.
    if ((await d.cgroups.removeIfEmpty(parent.cgroupParent)).busy.length > 0) return;
    await d.units.stopUnit(parent.cgroupSlice);
    return;
  }
  await d.cgroups.removeIfEmpty(parent.cgroupParent);
}

/**
 * Removes what of a pod's parent the runtime made, with the sandbox (or its rollback): under
 * systemd a slice it made (its own pod slice, or a requested one that did not exist), once no other
 * live sandbox is in it (stopping a slice stops every scope in it); under cgroupfs the folders it
 * made or shares with other pods it made them for (cgroup-ownership.ts), deepest first, while empty.
 */
export async function removePodCgroups(d: Pick<LifecycleDeps, 'cgroups' | 'units'>, rec: SandboxRecord, live: readonly SandboxRecord[]): Promise<void> {
  if (rec.cgroupSlice) {
    const shared = live.some((r) => r.id !== rec.id && r.cgroupSlice === rec.cgroupSlice);
    if (rec.ownsCgroupParent && !shared) await removePodCgroupParent(d, rec);
    return;
  }
  await removeOwnedCgroups(rec, (p) => d.cgroups.removeIfEmpty(p));
}

/**
 * Whether a new pod's parent is the runtime's to remove. systemd: its own pod slice, a requested
 * slice that does not exist yet, or one another live sandbox made. cgroupfs: the leaf of the
 * folders ownedCgroups found the runtime makes.
 */
export async function ownsPodCgroupParent(
  d: Pick<LifecycleDeps, 'cgroups'>,
  parent: PodCgroupParent,
  requested: string,
  owned: readonly string[],
  live: readonly SandboxRecord[],
): Promise<boolean> {
  if (!parent.cgroupSlice) return owned.includes(parent.cgroupParent);
  if (!requested) return true;
  if (live.some((r) => r.cgroupSlice === parent.cgroupSlice && r.ownsCgroupParent)) return true;
  return !(await d.cgroups.exists(parent.cgroupParent));
}
