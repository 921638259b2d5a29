/**
 * Which cgroups of a pod's parent path the runtime made, so that removing the last pod under them
 * removes them too, and nothing else. runc (like crun) creates every missing folder of a
 * container's cgroupsPath and removes only the container's own cgroup; a kubelet (the agent's QoS
 * manager) creates the pod cgroup itself before RunPodSandbox and removes it after. So a folder of
 * the request's cgroup_parent is the runtime's only when it was missing at RunPodSandbox, or when
 * another live sandbox already holds it as its own (two pods under one a/b the runtime made: the
 * last one removed takes a/b with it). A folder that existed and no sandbox claims is someone
 * else's (the agent's, systemd's, an operator's) and is never removed.
 */
import type { SandboxRecord } from '../store/index.js';

/** The folders of a cgroupfs path, outermost first: "/a/b/c" → ["/a", "/a/b", "/a/b/c"]. */
export function cgroupChain(path: string): string[] {
  const lead = path.startsWith('/') ? '/' : '';
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  return parts.map((_, i) => lead + parts.slice(0, i + 1).join('/'));
}

/**
 * The folders of parent (outermost first) a new sandbox owns: those that do not exist yet, and
 * those another live sandbox owns. exists is asked outermost first and stops at the first missing
 * folder (everything below it is missing too).
 */
export async function ownedCgroups(parent: string, exists: (path: string) => Promise<boolean>, live: readonly SandboxRecord[]): Promise<string[]> {
  const claimed = new Set(live.flatMap((r) => ownedByRecord(r)));
  const chain = cgroupChain(parent);
  const owned: string[] = [];
  let missing = false;
  for (const dir of chain) {
    if (!missing) missing = !(await exists(dir));
    if (missing || claimed.has(dir)) owned.push(dir);
  }
  return owned;
}

/** What a record owns; records written before ownedCgroups existed own their whole parent or nothing. */
export function ownedByRecord(rec: Pick<SandboxRecord, 'ownedCgroups' | 'ownsCgroupParent' | 'cgroupParent'>): string[] {
  if (rec.ownedCgroups) return rec.ownedCgroups;
  return rec.ownsCgroupParent ? [rec.cgroupParent] : [];
}

/**
 * Removes the folders rec owns, deepest first, each only when empty in every hierarchy; stops at
 * the first one still in use (another pod below it, or a process), leaving it and its parents.
 */
export async function removeOwnedCgroups(
  rec: Pick<SandboxRecord, 'ownedCgroups' | 'ownsCgroupParent' | 'cgroupParent'>,
  removeIfEmpty: (path: string) => Promise<{ busy: string[] }>,
): Promise<void> {
  const owned = ownedByRecord(rec);
  for (const dir of cgroupChain(rec.cgroupParent).reverse()) {
    if (!owned.includes(dir)) return;
    const res = await removeIfEmpty(dir);
    if (res.busy.length > 0) return;
  }
}
