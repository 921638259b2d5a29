import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
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

/** True when something is at path (following links); false only when nothing is (ENOENT); other errors throw. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
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

/** A folder's entries, or none when it is missing (or not a folder). */
export async function readdirIfExists(p: string) {
  try {
    return await readdir(p, { withFileTypes: true });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}

/**
 * The folders (or links to folders) directly under root, each real folder once: on a cgroup v1
 * host, every controller hierarchy once even where aliases such as cpu -> cpu,cpuacct exist.
 */
export async function distinctSubfolders(root: string): Promise<string[]> {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of await readdirIfExists(root)) {
    if (!e.isDirectory() && !e.isSymbolicLink()) continue;
    const dir = join(root, e.name);
    let real: string;
    try {
      real = await realpath(dir);
    } catch {
      continue;
    }
    if (seen.has(real) || !(await isDirectory(real))) continue;
    seen.add(real);
    out.push(dir);
  }
  return out;
}
