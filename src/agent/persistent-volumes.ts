import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import type { Pod } from '../api/index.js';
import { errnoCode, pathExists, safeJoin, safeSegment } from '../lib/index.js';

/**
 * The folders of persistent local volumes (a StatefulSet ordinal's claims) on the node, kept per
 * namespace: ROOT/persistent/<namespace>/<claimName>. A claim name is only unique within its
 * namespace (StatefulSet prod/db and team/db both have claim data-db-0), so the namespace is part
 * of the path.
 *
 * Migration from the old layout (ROOT/persistent/<claimName>, before namespaces were part of it):
 * the first time the agent needs a persistent volume, every folder directly under
 * ROOT/persistent is moved to ROOT/persistent/.unclaimed/<claimName> and the marker
 * ROOT/persistent/.namespaced is written (a crash in between is finished on the next start: before
 * the marker every entry is an old claim folder). Then the first StatefulSet pod that uses claim
 * <claimName> takes the folder: it is moved (renamed, the data stays) to ROOT/persistent/<its
 * namespace>/<claimName>. Only a pod shaped as the StatefulSet controller makes them may take one
 * (see {@link isStatefulSetClaim}): a pod written by a user before the API refused persistentLocal
 * gets a new empty folder, not another namespace's old data. Folders no pod uses again stay in
 * .unclaimed (never deleted). Names beginning with '.' are not valid namespaces, so they cannot
 * collide with a namespace folder.
 */
export class PersistentVolumes {
  private migrated?: Promise<void>;

  constructor(private readonly root: string) {}

  private base(): string {
    return safeJoin(this.root, ['persistent'], 'persistent volumes');
  }

  /**
   * The folder of claim `claimName` of namespace `namespace` (made when missing; when `adopt`, it
   * takes the old-layout folder of that claim if there is one).
   */
  async folder(namespace: string, claimName: string, what: string, adopt = true): Promise<string> {
    const ns = safeSegment(namespace || 'default', `${what}: namespace`);
    const claim = safeSegment(claimName, `${what}: persistentLocal.claimName`);
    const dir = safeJoin(this.base(), [ns, claim], `${what}: persistentLocal.claimName`);
    await this.migrate();
    if (adopt && !(await pathExists(dir))) {
      const old = safeJoin(this.base(), [UNCLAIMED, claim], `${what}: persistentLocal.claimName`);
      await mkdir(safeJoin(this.base(), [ns], `${what}: namespace`), { recursive: true, mode: 0o750 });
      try {
        await rename(old, dir);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
      }
    }
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** Moves the old layout's claim folders aside once (see the class comment). */
  private migrate(): Promise<void> {
    this.migrated ??= this.doMigrate().catch((err) => {
      this.migrated = undefined; // try again next time
      throw err;
    });
    return this.migrated;
  }

  private async doMigrate(): Promise<void> {
    const base = this.base();
    const marker = safeJoin(base, [MARKER]);
    if (await pathExists(marker)) return;
    await mkdir(base, { recursive: true });
    const entries = await readdir(base, { withFileTypes: true });
    const old = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.'));
    if (old.length > 0) {
      const holding = safeJoin(base, [UNCLAIMED]);
      await mkdir(holding, { recursive: true, mode: 0o750 });
      for (const e of old) await rename(safeJoin(base, [e.name]), safeJoin(holding, [e.name]));
    }
    await writeFile(marker, 'persistent volumes are kept as <namespace>/<claimName>\n');
  }
}

/**
 * True when volume `volumeName` of `pod` is claim `claimName` as the StatefulSet controller makes
 * it: the pod is ordinal n of the StatefulSet that controls it (named <set>-<n>) and the claim is
 * <volume>-<set>-<n>. (ownerReferences can be written by users too: this keeps pods of other shapes
 * from adopting old data, it is not proof.)
 */
export function isStatefulSetClaim(pod: Pod, volumeName: string, claimName: string): boolean {
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller);
  if (owner?.kind !== 'StatefulSet') return false;
  const prefix = `${owner.name}-`;
  if (!pod.metadata.name.startsWith(prefix) || !/^(0|[1-9][0-9]*)$/.test(pod.metadata.name.slice(prefix.length))) return false;
  return claimName === `${volumeName}-${pod.metadata.name}`;
}

/** Where old-layout claim folders wait for the first pod that uses them. */
export const UNCLAIMED = '.unclaimed';
/** Written once the old layout has been moved aside. */
const MARKER = '.namespaced';

