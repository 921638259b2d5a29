import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../../lib/index.js';

/** Disk use of a tree: bytes allocated (st_blocks) and inodes, each hard-linked inode counted once. */
export async function treeUsage(root: string): Promise<{ bytes: number; inodes: number }> {
  const seen = new Set<string>();
  let bytes = 0;
  const stack = [root];
  while (stack.length > 0) {
    const path = stack.pop()!;
    let st;
    try {
      st = await lstat(path, { bigint: false });
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') continue; // removed while we walked
      throw err;
    }
    const key = `${st.dev}:${st.ino}`;
    if (!seen.has(key)) {
      seen.add(key);
      bytes += st.blocks * 512;
    }
    if (st.isDirectory()) {
      let names: string[] = [];
      try {
        names = await readdir(path);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
      }
      for (const n of names) stack.push(join(path, n));
    }
  }
  return { bytes, inodes: seen.size };
}

/** The mount point holding path, from a mountinfo file (default /proc/self/mountinfo). */
export async function mountPointOf(path: string, mountinfo = '/proc/self/mountinfo'): Promise<string> {
  const real = await realpath(path);
  const text = await readFile(mountinfo, 'utf8');
  let best = '/';
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 5) continue;
    // mountinfo escapes space, tab, newline and backslash as octal (\040 ...).
    const mp = fields[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    const inside = mp === '/' || real === mp || real.startsWith(`${mp}/`);
    if (inside && mp.length > best.length) best = mp;
  }
  return best;
}
