import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, internal, runProgram } from '../../lib/index.js';
import { isMounted } from '../../host/index.js';
import { MNT_DETACH, MS, type HostHelper } from '../host-helper.js';

/** Namespaces of a pod that are pinned by a bind mount (the network one is the netns file). */
export type PinnedNamespace = 'ipc' | 'uts';

/**
 * What the sandbox lifecycle needs to keep a pod's namespaces independent of the pause pid:
 * pinning (an nsfs bind mount on a file, as CRI-O's pinns and `ip netns add` do, so containers
 * join by a path that can never name another process's namespace) and a process's identity.
 */
export interface NamespacePort {
  /** Bind-mounts /proc/<pid>/ns/<type> on dir/<type> for each type; returns the paths. */
  pin(pid: number, types: readonly PinnedNamespace[], dir: string): Promise<Partial<Record<PinnedNamespace, string>>>;
  /** Unmounts every pin under dir and removes it; a no-op when dir does not exist. */
  unpin(dir: string): Promise<void>;
  /** The sub-folders of root (one per sandbox id) that hold pins, for the sweep after a crash. */
  listPinDirs(root: string): Promise<string[]>;
  /**
   * The kernel's start time of pid (field 22 of /proc/<pid>/stat, clock ticks since boot), or
   * undefined when no such live process exists (ENOENT/ESRCH, or a zombie). A pid with another
   * start time is another process. Any other failure to read (EMFILE, ENOMEM, EAGAIN…) says
   * nothing about the process and is thrown: callers treat it as "unknown", never as "gone".
   */
  startTime(pid: number): Promise<string | undefined>;
  /** This boot's id (/proc/sys/kernel/random/boot_id): pid + start time are unique only within one boot. */
  bootId(): Promise<string | undefined>;
  /**
   * Whether pid is stopped (state T or t: SIGSTOP, ptrace): alive but doing nothing. False when it
   * runs, is gone or /proc cannot be read. Optional (test fakes): absent means never stopped.
   */
  stopped?(pid: number): Promise<boolean>;
}

/** The host implementation: mount(8) and umount(8), one short process per namespace. */
export const hostNamespaces: NamespacePort = hostNamespacesWith(undefined);

/** The host implementation, its bind mounts and unmounts made by the helper when there is one (else mount(8), umount(8)). */
export function hostNamespacesWith(helper: HostHelper | undefined): NamespacePort {
  const bind = async (source: string, target: string): Promise<string | undefined> => {
    if (helper)
      return helper.mount(source, target, '', MS.BIND, '').then(
        () => undefined,
        (err: unknown) => (err as Error).message,
      );
    const r = await runProgram('mount', ['--bind', source, target]);
    return r.exitCode === 0 ? undefined : r.stderr.trim() || r.shortMessage;
  };
  const unmountLazy = async (target: string): Promise<string | undefined> => {
    if (helper)
      return helper.umount(target, MNT_DETACH).then(
        () => undefined,
        (err: unknown) => (err as Error).message,
      );
    const r = await runProgram('umount', ['--lazy', target]);
    return r.exitCode === 0 ? undefined : r.stderr.trim() || r.shortMessage;
  };
  return {
    async pin(pid, types, dir) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const paths: Partial<Record<PinnedNamespace, string>> = {};
      await Promise.all(
        types.map(async (type) => {
          const target = join(dir, type);
          // The bind mount needs an existing file; exclusive create so a stale pin is noticed.
          await writeFile(target, '', { flag: 'wx', mode: 0o600 });
          const failed = await bind(`/proc/${pid}/ns/${type}`, target);
          if (failed !== undefined) throw internal(`pinning the ${type} namespace of pid ${pid} at ${target}: ${failed}`);
          paths[type] = target;
        }),
      );
      return paths;
    },
    async unpin(dir) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return;
        throw err;
      }
      for (const name of names) {
        const target = join(dir, name);
        // Stacked mounts (a pin made twice) take one umount each.
        for (let i = 0; i < 5 && (await isMounted(target)); i++) {
          const failed = await unmountLazy(target);
          if (failed !== undefined) throw internal(`unpinning namespace ${target}: ${failed}`);
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
    async listPinDirs(root) {
      return readdir(root).catch(() => []);
    },
    startTime: startTimeReader((path) => readFile(path, 'utf8')),
    stopped: stoppedReader((path) => readFile(path, 'utf8')),
    async bootId() {
      return readFile('/proc/sys/kernel/random/boot_id', 'utf8').then(
        (s) => s.trim() || undefined,
        () => undefined,
      );
    },
  };
}

/**
 * NamespacePort.startTime over a reader of /proc files (the seam for tests): undefined only when the
 * process is certainly gone (ENOENT/ESRCH, zombie or dead state); other read errors are thrown.
 */
export function startTimeReader(read: (path: string) => Promise<string>): (pid: number) => Promise<string | undefined> {
  return async (pid) => {
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    let stat: string;
    try {
      stat = await read(`/proc/${pid}/stat`);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ESRCH') return undefined;
      throw err;
    }
    // "pid (comm) S ppid …": comm may hold spaces and ')', so fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    // fields[0] is field 3 (state), so field 22 (starttime) is fields[19].
    return fields[19];
  };
}

/** NamespacePort.stopped over a reader of /proc files: true only when /proc/<pid>/stat says T or t. */
export function stoppedReader(read: (path: string) => Promise<string>): (pid: number) => Promise<boolean> {
  return async (pid) => {
    if (!Number.isInteger(pid) || pid <= 0) return false;
    const stat = await read(`/proc/${pid}/stat`).catch(() => '');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state === 'T' || state === 't';
  };
}
