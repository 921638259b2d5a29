/**
 * subPath volume mounts, prepared as the kubelet prepares them (pkg/volume/util/subpath): the
 * subPath is opened beneath the volume without letting '..' or a symbolic link lead out of it, and
 * the opened file itself is bind-mounted on a private path under the pod's folder, which is what the
 * runtime gets as host_path. Node has neither openat2 nor mount(2): the corelet-io helper does both.
 */
import { execa } from '../lib/index.js'; // execa, loaded on first use
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { failedPrecondition, internal } from '../lib/index.js';

/** Bind-mounts SUBPATH of a volume on a target, refusing escapes. */
export interface SubPathPort {
  /** Throws with the helper's reason when subPath leaves the volume or cannot be opened. */
  mount(volumeRoot: string, subPath: string, target: string): Promise<void>;
}

/** dist/bin/corelet-io beside this module's dist/src/agent/. */
export const DEFAULT_IO_HELPER = fileURLToPath(new URL('../../bin/corelet-io', import.meta.url));

export function helperSubPaths(helperPath = DEFAULT_IO_HELPER): SubPathPort {
  return {
    async mount(volumeRoot, subPath, target) {
      const r = await execa(helperPath, ['subpath-mount', volumeRoot, subPath, target], { reject: false, timeout: 30_000 });
      if (r.failed && r.exitCode === undefined) throw internal(`running ${helperPath}: ${r.shortMessage}`);
      const reason = r.stderr.trim().replace(/^corelet-io: /, '');
      if (r.exitCode === 4) throw failedPrecondition(reason);
      if (r.exitCode !== 0) throw internal(reason || `${helperPath} exited with ${r.exitCode}`);
    },
  };
}

/** Mount points at or under dir, deepest first (mountinfo's field 5, octal escapes decoded). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}
