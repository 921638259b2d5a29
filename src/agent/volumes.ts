import { mkdir, readdir, rm } from 'node:fs/promises';
import type { Pod } from '../api/index.js';
import { memoryBytes } from '../api/index.js';
import { isMounted, type MountPort } from '../lib/mounts.js';
import { safeJoin } from '../lib/safe-join.js';

/**
 * Pod volumes on the node: emptyDir (a folder, or a size-limited tmpfs for medium Memory) under the
 * agent's root, and hostPath as it is. Everything a pod's volumes made goes with the pod.
 */
export class VolumeManager {
  constructor(
    private readonly root: string,
    private readonly mounts: MountPort,
  ) {}

  private podDir(uid: string): string {
    return safeJoin(this.root, ['pods', uid, 'volumes'], 'pod uid');
  }

  /** Makes the pod's volumes (idempotent) and returns each one's host path by name. */
  async prepare(pod: Pod): Promise<Record<string, string>> {
    const paths: Record<string, string> = {};
    for (const v of pod.spec.volumes) {
      if (v.emptyDir) {
        const dir = safeJoin(this.podDir(pod.metadata.uid), [v.name], `volume ${v.name}`);
        await mkdir(dir, { recursive: true });
        if (v.emptyDir.medium === 'Memory') {
          const size = v.emptyDir.sizeLimit ? `,size=${memoryBytes(v.emptyDir.sizeLimit)}` : '';
          if (!(await isMounted(dir))) await this.mounts.tmpfs(dir, `mode=0777${size}`);
        }
        paths[v.name] = dir;
      } else if (v.hostPath) {
        if (v.hostPath.type === 'DirectoryOrCreate') await mkdir(v.hostPath.path, { recursive: true });
        paths[v.name] = v.hostPath.path;
      } else if (v.persistentLocal) {
        const dir = safeJoin(this.root, ['persistent', v.persistentLocal.claimName], `volume ${v.name}: persistentLocal.claimName`);
        await mkdir(dir, { recursive: true });
        paths[v.name] = dir;
      }
    }
    return paths;
  }

  /** Unmounts and removes the pod's emptyDir volumes (hostPath and persistent volumes stay). */
  async cleanup(uid: string): Promise<void> {
    const dir = this.podDir(uid);
    for (const name of await readdir(dir).catch(() => [] as string[])) await this.mounts.unmount(safeJoin(dir, [name]));
    await rm(safeJoin(this.root, ['pods', uid], 'pod uid'), { recursive: true, force: true });
  }
}
