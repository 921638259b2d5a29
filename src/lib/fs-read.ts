import { readFile, stat } from 'node:fs/promises';
import { errnoCode } from './errors.js';

/** True when p is a directory (false when it is missing or not a directory). */
export async function isDirectory(p: string | undefined): Promise<boolean> {
  if (p === undefined) return false;
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A file's text, or undefined when it is not there. Kernel files (cgroupfs, procfs) that exist but
 * cannot be read on this kernel (ENODEV, EOPNOTSUPP) count as absent too.
 */
export async function readFileIfExists(p: string): Promise<string | undefined> {
  try {
    return await readFile(p, 'utf8');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENODEV' || code === 'EOPNOTSUPP') return undefined;
    throw err;
  }
}
