import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from './errors.js';

/** Mode of a daemon's state folders (--root, --state): only root may enter them. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of record files (JSON state with env values, OCI specs). */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Makes dir (and missing parents) and sets its mode, also when it already existed with a looser
 * one: installs made before state was private are fixed at start (CVE-2021-41103 class).
 */
export async function ensurePrivateDir(dir: string, mode = PRIVATE_DIR_MODE): Promise<void> {
  await mkdir(dir, { recursive: true, mode });
  await chmod(dir, mode);
}

/**
 * chmod 0600 of the named files in every object folder under dir (dir/<id>/<file>), for records
 * written before they were private. Never walks deeper: object folders hold mounted rootfs trees.
 */
export async function tightenRecords(dir: string, ids: readonly string[], files: readonly string[]): Promise<void> {
  for (const id of ids) {
    for (const f of files) {
      await chmod(join(dir, id, f), PRIVATE_FILE_MODE).catch((err: unknown) => {
        if (errnoCode(err) !== 'ENOENT') throw err;
      });
    }
  }
}
