import { open, rename, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Writes data to path atomically: a temp file beside it, fsync, rename, then fsync of the folder, so
 * a crash leaves either the old or the new content, never a torn file.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'w', mode);
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    // A failed write (ENOSPC, EIO) must not leave its temp file: every retry would add one.
    await rm(tmp, { force: true });
    throw err;
  }
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** writeFileAtomic of a JSON document; 0600 by default: records hold env values and addresses. */
export function writeJsonAtomic(path: string, value: unknown, mode = 0o600): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', mode);
}
