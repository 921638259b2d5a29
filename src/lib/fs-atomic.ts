import { open, rename, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /**
   * fsync the file before the rename and the folder after it (default true): the new content then
   * survives a power loss too. Without it the write is still atomic for a process killed at any
   * line (SIGKILL): the rename is, and the page cache outlives the process; a power loss may
   * leave the old content, or no file where there was none, but never a torn one.
   */
  sync?: boolean;
}

/**
 * Writes data to path atomically: a temp file beside it, fsync, rename, then fsync of the folder, so
 * a crash leaves either the old or the new content, never a torn file.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, opts: AtomicWriteOptions = {}): Promise<void> {
  const sync = opts.sync ?? true;
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'w', mode);
  try {
    try {
      await fh.writeFile(data);
      if (sync) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    // A failed write (ENOSPC, EIO) must not leave its temp file: every retry would add one.
    await rm(tmp, { force: true });
    throw err;
  }
  if (!sync) return;
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** writeFileAtomic of a JSON document; 0600 by default: records hold env values and addresses. */
export function writeJsonAtomic(path: string, value: unknown, mode = 0o600, opts: AtomicWriteOptions = {}): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', mode, opts);
}
