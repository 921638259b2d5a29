import { readFile } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { internal, runProgram } from '../lib/index.js';

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

/** Runs a command, never throwing on its exit code (a plain spawn: execa cost ~2 ms more CPU per mount on the pod-start path). */
async function run(file: string, args: string[]): Promise<{ exitCode?: number; stderr: string }> {
  const r = await runProgram(file, args);
  return { exitCode: r.exitCode, stderr: r.stderr.trimEnd() || r.shortMessage };
}

export async function isMounted(target: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((line) => line.split(' ')[4] === target);
}

export const hostMounts: MountPort = {
  async overlay(lowerdir, upperdir, workdir, target) {
    await Promise.all([mkdir(upperdir, { recursive: true }), mkdir(workdir, { recursive: true }), mkdir(target, { recursive: true })]);
    const r = await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerdir},upperdir=${upperdir},workdir=${workdir}`, target]);
    if (r.exitCode !== 0) throw internal(`mounting overlay rootfs at ${target}: ${r.stderr.trim()}`);
  },
  async tmpfs(target, options) {
    await mkdir(target, { recursive: true });
    const r = await run('mount', ['-t', 'tmpfs', '-o', options, 'shm', target]);
    if (r.exitCode !== 0) throw internal(`mounting tmpfs at ${target}: ${r.stderr.trim()}`);
  },
  async unmount(target) {
    if (!(await isMounted(target))) return;
    const r = await run('umount', [target]);
    if (r.exitCode !== 0) {
      const lazy = await run('umount', ['-l', target]);
      if (lazy.exitCode !== 0) throw internal(`unmounting ${target}: ${r.stderr.trim()}`);
    }
  },
};
