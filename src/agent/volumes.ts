import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Container, type Pod, type VolumeMount, memoryBytes } from '../api/index.js';
import { isMounted, type MountPort } from '../host/index.js';
import { safeJoin, safeSegment, wrap, internal, writeFileAtomic } from '../lib/index.js';
import { isStatefulSetClaim, PersistentVolumes } from './persistent-volumes.js';
import { helperSubPaths, mountsUnder, type SubPathPort } from './subpaths.js';

/**
 * Pod volumes on the node: emptyDir (a folder, or a size-limited tmpfs for medium Memory) under the
 * agent's root, hostPath as it is, and persistentLocal (a StatefulSet ordinal's claim) as
 * ROOT/persistent/<namespace>/<claimName> (see PersistentVolumes). Everything a pod's emptyDir
 * volumes made goes with the pod; persistent folders stay.
 */
export class VolumeManager {
  constructor(
    private readonly root: string,
    private readonly mounts: MountPort,
    private readonly subPaths: SubPathPort = helperSubPaths(),
  ) {
    this.persistent = new PersistentVolumes(root);
  }

  private readonly persistent: PersistentVolumes;

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
        const { claimName } = v.persistentLocal;
        paths[v.name] = await this.persistent.folder(pod.metadata.namespace, claimName, `volume ${v.name}`, isStatefulSetClaim(pod, v.name, claimName));
      }
    }
    return paths;
  }

  /**
   * The host path to give the runtime for a volumeMount with subPath (the kubelet's
   * volume-subpaths/<volume>/<container>/<index>): subPath opened beneath the volume's host path
   * without leaving it, and bind-mounted there. Made again at every container start.
   */
  async prepareSubPath(pod: Pod, container: Container, index: number, vm: VolumeMount, volumePath: string): Promise<string> {
    const target = safeJoin(
      this.root,
      ['pods', pod.metadata.uid, 'volume-subpaths', safeSegment(vm.name, 'volume name'), safeSegment(container.name, 'container name'), String(index)],
      'subPath target',
    );
    try {
      await mkdir(dirname(target), { recursive: true, mode: 0o750 });
      await this.mounts.unmount(target);
      await rm(target, { recursive: false, force: true }).catch(() => undefined);
      await this.subPaths.mount(volumePath, vm.subPath!, target);
    } catch (err) {
      throw wrap(err, `failed to prepare subPath for volumeMount "${vm.name}" of container "${container.name}"`);
    }
    return target;
  }

  /** Writes a file of the pod's own (ROOT/pods/UID/NAME, removed with the pod's folder); returns its path. */
  async writePodFile(uid: string, name: string, content: string): Promise<string> {
    const dir = safeJoin(this.root, ['pods', uid], 'pod uid');
    await mkdir(dir, { recursive: true, mode: 0o750 });
    const path = safeJoin(dir, [safeSegment(name, 'pod file name')], 'pod file');
    await writeFileAtomic(path, content);
    return path;
  }

  /**
   * Unmounts the pod's subPath binds and emptyDir volumes, then removes its folder (hostPath and
   * persistent volumes stay). Nothing is removed while anything under the folder is still mounted:
   * rm -r through a bind mount would delete the volume's (or worse, the host's) files.
   */
  async cleanup(uid: string): Promise<void> {
    const podRoot = safeJoin(this.root, ['pods', uid], 'pod uid');
    const dir = this.podDir(uid);
    for (const name of await readdir(dir).catch(() => [] as string[])) await this.mounts.unmount(safeJoin(dir, [name]));
    for (const point of await mountsUnder(podRoot)) await this.mounts.unmount(point);
    const left = await mountsUnder(podRoot);
    if (left.length > 0) throw internal(`pod ${uid}: not removing ${podRoot}, still mounted: ${left.join(', ')}`);
    await rm(podRoot, { recursive: true, force: true });
  }
}
