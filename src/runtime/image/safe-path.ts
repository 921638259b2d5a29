import { chmod, lstat, mkdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, invalidArgument } from '../../lib/index.js';

/** Symlinks followed while resolving one path before we call it a loop (Linux's limit is 40). */
const MAX_SYMLINKS = 40;

/**
 * Splits a tar entry name into clean path components relative to the rootfs. A leading `/` is
 * dropped (the name is taken relative to the rootfs, as Docker does); `.` and empty components go;
 * `..` is resolved lexically, and a name that climbs above the root (`../x`, `a/../../x`) is refused
 * with InvalidArgument.
 */
export function entryComponents(name: string): string[] {
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) throw invalidArgument(`tar entry ${JSON.stringify(name)} points outside the root`);
      out.pop();
      continue;
    }
    out.push(c);
  }
  return out;
}

/**
 * Resolves a directory path inside root as if root were `/`: symlinks met on the way are followed
 * but interpreted inside root (absolute targets restart at root, `..` stops at root), so the result
 * can never be outside root, and every component of it is a real directory. With create, missing
 * directories are made (mode 0755) and reported to onCreate; without, a missing component gives
 * undefined. A component that is neither a directory nor a symlink is an InvalidArgument.
 */
export async function resolveDirInRoot(
  root: string,
  components: string[],
  opts: { create: boolean; onCreate?: (path: string) => void },
): Promise<string | undefined> {
  let resolved: string[] = [];
  const pending = [...components];
  let links = 0;
  while (pending.length > 0) {
    const c = pending.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      resolved.pop();
      continue;
    }
    const path = join(root, ...resolved, c);
    let st;
    try {
      st = await lstat(path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      if (!opts.create) return undefined;
      await mkdir(path);
      await chmod(path, 0o755); // explicit: the process umask must not decide rootfs modes
      opts.onCreate?.(path);
      resolved.push(c);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) throw invalidArgument(`too many levels of symbolic links under ${join(...components)}`);
      const target = await readlink(path);
      if (target.startsWith('/')) resolved = [];
      pending.unshift(...target.split('/'));
      continue;
    }
    if (!st.isDirectory()) {
      throw invalidArgument(`${join(...resolved, c)} is not a directory (needed as parent of ${join(...components)})`);
    }
    resolved.push(c);
  }
  return join(root, ...resolved);
}
