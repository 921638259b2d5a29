import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, writeSync, ftruncateSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { failedPrecondition } from './errors.js';

/** The lock of a state folder, held until release() or the process ends (kill -9 included). */
export interface RootLock {
  readonly path: string;
  release(): void;
}

export const LOCK_FILE = 'lock.db';
export const LOCK_PID_FILE = 'lock.pid';

/**
 * Takes the exclusive lock of root for a daemon (`what`: "corelet runtime", "corelet agent", named
 * to whoever finds the root taken), as
 * containerd and CRI-O do with a lock file: a second daemon on the same root fails here, before it
 * touches anything else, with a message naming the root and the holder's pid.
 *
 * Node has no flock(), so the lock is an fcntl() write lock that SQLite takes on ROOT/lock.db in
 * EXCLUSIVE locking mode and holds for the connection's life. The kernel drops it when the holder
 * dies however it dies, so a kill -9 never leaves a stale lock and no pid is ever guessed to be
 * alive (a pidfile alone is fooled by recycled pids). ROOT/lock.pid only tells the loser whom to
 * name.
 */
export function lockRoot(root: string, what: string): RootLock {
  const dir = resolve(root);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, LOCK_FILE);
  // Loaded here, not at import: lib/ is imported by every CLI command, which never locks a root.
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(path, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder; INSERT INTO holder VALUES (' + process.pid + '); COMMIT');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY') || (err as { code?: string }).code?.startsWith('SQLITE_LOCKED')) {
      const holder = readHolder(dir);
      throw failedPrecondition(
        `${dir} is in use by another ${holder?.what ?? 'process'}${holder ? ` (pid ${holder.pid})` : ''} (lock ${path}): stop it first, or give this one its own --root`,
      );
    }
    throw err;
  }
  chmodSync(path, 0o600);
  const fd = openSync(join(dir, LOCK_PID_FILE), 'w', 0o600);
  try {
    ftruncateSync(fd);
    writeSync(fd, `${process.pid} ${what}\n`);
  } finally {
    closeSync(fd);
  }
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      db.close();
    },
  };
}

/** The holder as it wrote itself into ROOT/lock.pid ("PID WHAT"). */
function readHolder(dir: string): { pid: string; what: string } | undefined {
  try {
    const m = /^(\d+) (.+)$/.exec(readFileSync(join(dir, LOCK_PID_FILE), 'utf8').trim());
    return m ? { pid: m[1]!, what: m[2]! } : undefined;
  } catch {
    return undefined;
  }
}
