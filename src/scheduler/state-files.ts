/**
 * The scheduler's state is private: every pod spec (env values included), token records and the
 * audit log are in DIR. The folder is made 0700 and state.db with its -wal and -shm files 0600 at
 * every start, also on installs made before they were (a 0755 DIR, 0644 database files).
 */
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateDir, PRIVATE_FILE_MODE, errnoCode } from '../lib/index.js';

/** The store's file in the scheduler's folder. */
export const STATE_DB = 'state.db';

const DB_FILES = [STATE_DB, `${STATE_DB}-wal`, `${STATE_DB}-shm`];

/** chmod 0600 the database files that exist (SQLite creates -wal and -shm with the database's mode). */
export async function tightenStateFiles(dir: string): Promise<void> {
  for (const f of DB_FILES) {
    await chmod(join(dir, f), PRIVATE_FILE_MODE).catch((err: unknown) => {
      if (errnoCode(err) !== 'ENOENT') throw err;
    });
  }
}

/** DIR 0700 (made if missing) and its database files 0600; call before opening the store, and again after. */
export async function makeStatePrivate(dir: string): Promise<void> {
  await ensurePrivateDir(dir);
  await tightenStateFiles(dir);
}
