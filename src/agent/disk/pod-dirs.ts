/**
 * What a pod leaves on the node's disk once it is gone, as the kubelet removes it: its log folder
 * (`--log-dir/<namespace>_<name>_<uid>`, the kubelet's pod log directory GC) and its folder under the
 * agent's root (`ROOT/pods/<uid>`: emptyDir volumes, subPath binds; the kubelet's
 * cleanupOrphanedPodDirs). Persistent volumes (`ROOT/persistent`) are never touched.
 */
import { readdir, rm } from 'node:fs/promises';
import { errnoCode, safeJoin, silentLogger, type Logger } from '../../lib/index.js';
import type { Pod } from '../../api/index.js';
import { podLogDirectory } from '../cri-config.js';

export interface PodDirsOptions {
  logRoot: string;
  /** The agent's root: pod folders are ROOT/pods/<uid>. */
  root: string;
  /** Unmounts and removes ROOT/pods/<uid> (VolumeManager.cleanup: refuses while anything is mounted). */
  removeVolumes: (uid: string) => Promise<void>;
  logger?: Logger;
  /** Least time between two sweeps (default 10 s). */
  sweepIntervalMs?: number;
  now?: () => number;
}

/** The pod uid of a log folder name `<namespace>_<name>_<uid>` (namespaces and names have no `_`). */
export function uidOfLogFolder(name: string): string | undefined {
  const parts = name.split('_');
  return parts.length === 3 && parts[2] ? parts[2] : undefined;
}

export class PodDirs {
  private readonly logger: Logger;
  private lastSweep = -Infinity;
  private sweeping = false;

  constructor(private readonly opts: PodDirsOptions) {
    this.logger = opts.logger ?? silentLogger;
  }

  /** Removes a deleted pod's log folder (its volumes go through the worker's own cleanup). */
  async removePodLogs(pod: Pod): Promise<void> {
    await rm(podLogDirectory(this.opts.logRoot, pod), { recursive: true, force: true });
  }

  /**
   * Removes the log folders and pod folders of pods this agent does not know (isKnown false) and
   * the runtime holds nothing of (inRuntime: uids with a sandbox or container). At most once per
   * sweep interval unless force; returns the uids cleaned.
   */
  async sweep(isKnown: (uid: string) => boolean, inRuntime: ReadonlySet<string>, force = false): Promise<string[]> {
    const now = (this.opts.now ?? Date.now)();
    if (this.sweeping || (!force && now - this.lastSweep < (this.opts.sweepIntervalMs ?? 10_000))) return [];
    this.sweeping = true;
    this.lastSweep = now;
    const cleaned = new Set<string>();
    const orphan = (uid: string) => !isKnown(uid) && !inRuntime.has(uid);
    try {
      for (const name of await list(this.opts.logRoot)) {
        const uid = uidOfLogFolder(name);
        if (!uid || !orphan(uid)) continue;
        try {
          await rm(safeJoin(this.opts.logRoot, [name], 'pod log folder'), { recursive: true, force: true });
          cleaned.add(uid);
        } catch (err) {
          this.logger.warn({ folder: name, err: String(err) }, 'cannot remove the log folder of a removed pod');
        }
      }
      const pods = safeJoin(this.opts.root, ['pods'], 'pods folder');
      for (const uid of await list(pods)) {
        if (!orphan(uid)) continue;
        try {
          await this.opts.removeVolumes(uid);
          cleaned.add(uid);
        } catch (err) {
          this.logger.warn({ pod: uid, err: String(err) }, 'cannot remove the folder of a removed pod');
        }
      }
    } finally {
      this.sweeping = false;
    }
    if (cleaned.size > 0) this.logger.info({ pods: [...cleaned] }, 'removed the logs and volumes of pods no longer on this node');
    return [...cleaned];
  }
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}
