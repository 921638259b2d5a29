import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { internal } from './errors.js';

/**
 * Host mounts (overlayfs rootfs, pod /dev/shm). Node has no mount(2), so these spawn mount(8); they
 * are on the pod-start path, so each costs exactly one short process.
 */
export interface MountPort {
  overlay(lowerdir: string, upperdir: string, workdir: string, target: string): Promise<void>;
  tmpfs(target: string, options: string): Promise<void>;
  /** Unmounts target if it is mounted (detaching lazily if busy); a no-op otherwise. */
  unmount(target: string): Promise<void>;
}

export async function isMounted(target: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((line) => line.split(' ')[4] === target);
}

export const hostMounts: MountPort = {
  async overlay(lowerdir, upperdir, workdir, target) {
    await Promise.all([mkdir(upperdir, { recursive: true }), mkdir(workdir, { recursive: true }), mkdir(target, { recursive: true })]);
    const r = await execa('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerdir},upperdir=${upperdir},workdir=${workdir}`, target], { reject: false });
    if (r.exitCode !== 0) throw internal(`mounting overlay rootfs at ${target}: ${r.stderr.trim()}`);
  },
  async tmpfs(target, options) {
    await mkdir(target, { recursive: true });
    const r = await execa('mount', ['-t', 'tmpfs', '-o', options, 'shm', target], { reject: false });
    if (r.exitCode !== 0) throw internal(`mounting tmpfs at ${target}: ${r.stderr.trim()}`);
  },
  async unmount(target) {
    if (!(await isMounted(target))) return;
    const r = await execa('umount', [target], { reject: false });
    if (r.exitCode !== 0) {
      const lazy = await execa('umount', ['-l', target], { reject: false });
      if (lazy.exitCode !== 0) throw internal(`unmounting ${target}: ${r.stderr.trim()}`);
    }
  },
};
