/**
 * What a pod leaves on the node's disk once it is gone, as the kubelet removes it: its log folder
 * (`--log-dir/<namespace>_<name>_<uid>`, the kubelet's pod log directory GC) and its folder under the
 * agent's root (`ROOT/pods/<uid>`: emptyDir volumes, subPath binds; the kubelet's
 * cleanupOrphanedPodDirs). Persistent volumes (`ROOT/persistent`) are never touched.
 *
 * The log dir defaults to the kubelet's /var/log/pods, which a kubelet, k3s or containerd on the
 * same host also fills with `<namespace>_<name>_<uid>` folders: the sweep removes only folders
 * carrying the agent's marker file (written when the agent makes the folder, before the pod's
 * sandbox), and never follows a symlink (a link named like a pod is left alone).
 */
import { lstat, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

/** The file that marks a pod log folder as made by this agent (the only ones the sweep removes). */
export const POD_LOG_FOLDER_MARKER = '.corelet';

/** Makes the pod's log folder (as the kubelet does before RunPodSandbox) and marks it as the agent's. */
export async function markPodLogDirectory(logRoot: string, pod: Pod): Promise<void> {
  const dir = podLogDirectory(logRoot, pod);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await writeFile(join(dir, POD_LOG_FOLDER_MARKER), '', { flag: 'a' });
}

/** Whether path is a real folder (lstat: a symlink is not). */
async function isRealDir(path: string): Promise<boolean> {
  return lstat(path).then((s) => s.isDirectory(), () => false);
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
        if (!uid) continue;
        try {
          const folder = safeJoin(this.opts.logRoot, [name], 'pod log folder');
          if (!(await isRealDir(folder))) continue;
          const marker = join(folder, POD_LOG_FOLDER_MARKER);
          if (isKnown(uid)) {
            // A folder made before the marker existed: a pod of ours, so mark it now.
            if (!(await lstat(marker).then(() => true, () => false))) await writeFile(marker, '', { flag: 'a' });
            continue;
          }
          if (!orphan(uid)) continue;
          if (!(await lstat(marker).then((st) => st.isFile(), () => false))) continue; // not ours
          await rm(folder, { recursive: true, force: true });
          cleaned.add(uid);
        } catch (err) {
          this.logger.warn({ folder: name, err: String(err) }, 'cannot remove the log folder of a removed pod');
        }
      }
      const pods = safeJoin(this.opts.root, ['pods'], 'pods folder');
      for (const uid of await list(pods)) {
        if (!orphan(uid) || !(await isRealDir(join(pods, uid)))) continue;
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
