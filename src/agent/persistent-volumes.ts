import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { safeJoin, safeSegment } from '../lib/safe-join.js';
import { errnoCode } from '../lib/errors.js';

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
 * the marker every entry is an old claim folder). Then the first pod that uses claim <claimName>
 * takes the folder: it is moved (renamed, the data stays) to ROOT/persistent/<its
 * namespace>/<claimName>. Folders no pod uses again stay in .unclaimed (never deleted). Names
 * beginning with '.' are not valid namespaces, so they cannot collide with a namespace folder.
 */
export class PersistentVolumes {
  private migrated?: Promise<void>;

  constructor(private readonly root: string) {}

  private base(): string {
    return safeJoin(this.root, ['persistent'], 'persistent volumes');
  }

  /** The folder of claim `claimName` of namespace `namespace` (made when missing, taking an old-layout folder of that claim). */
  async folder(namespace: string, claimName: string, what: string): Promise<string> {
    const ns = safeSegment(namespace || 'default', `${what}: namespace`);
    const claim = safeSegment(claimName, `${what}: persistentLocal.claimName`);
    const dir = safeJoin(this.base(), [ns, claim], `${what}: persistentLocal.claimName`);
    await this.migrate();
    if (!(await exists(dir))) {
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
    if (await exists(marker)) return;
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

/** Where old-layout claim folders wait for the first pod that uses them. */
export const UNCLAIMED = '.unclaimed';
/** Written once the old layout has been moved aside. */
const MARKER = '.namespaced';

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}
