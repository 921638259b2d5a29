import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pod } from '../../api/index.js';
import { errnoCode, safeJoin } from '../../lib/index.js';
import { podLogDirectory } from '../cri-config.js';

/**
 * Bytes allocated under root on root's own filesystem (st_blocks; hard links counted once). Other
 * filesystems below it (a memory-backed emptyDir's tmpfs, bind mounts) are not the node's disk and
 * are skipped, as the kubelet counts a medium: Memory emptyDir as memory.
 */
export async function diskUsage(root: string): Promise<number> {
  const top = await lstat(root).catch((err) => {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  });
  if (!top) return 0;
  const seen = new Set<number>();
  let bytes = 0;
  const stack = [root];
  while (stack.length > 0) {
    const path = stack.pop()!;
    const st = await lstat(path).catch(() => undefined);
    if (!st || st.dev !== top.dev) continue;
    if (!seen.has(st.ino)) {
      seen.add(st.ino);
      bytes += st.blocks * 512;
    }
    if (st.isDirectory()) for (const n of await readdir(path).catch(() => [] as string[])) stack.push(join(path, n));
  }
  return bytes;
}

/**
 * What a pod uses of the node's disk as the eviction manager ranks it: its log folder and its
 * emptyDir volumes (the agent adds the writable layers from CRI ContainerStats).
 */
export async function podDiskUsage(logRoot: string, root: string, pod: Pod): Promise<number> {
  const logs = await diskUsage(podLogDirectory(logRoot, pod));
  const volumes = await diskUsage(safeJoin(root, ['pods', pod.metadata.uid, 'volumes'], 'pod uid'));
  return logs + volumes;
}
