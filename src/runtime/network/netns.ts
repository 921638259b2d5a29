/**
 * Named network namespaces: an nsfs bind mount on a file under a netns dir, as `ip netns add` makes
 * them, so the namespace outlives every process in it and can be joined by path.
 */
import { lstat, mkdir, open, statfs, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { NamespacePinPaths } from './types.js';
import { MNT_DETACH, type HostHelper } from '../host-helper.js';
import { alreadyExists, CoreletError, errnoCode, internal, invalidArgument, runProgram } from '../../lib/index.js';

// statfs(2) f_type of a namespace file (linux/magic.h NSFS_MAGIC).
const NSFS_MAGIC = 0x6e736673;
const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,250}$/;

/** True when path is a network-namespace-like nsfs file (a bound netns or /proc/PID/ns/net). */
export async function isNetworkNamespace(path: string): Promise<boolean> {
  if (!path) return false;
  try {
    return (await statfs(path)).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Creates a network namespace bound at DIR/NAME with its loopback up, and returns the path.
 * One child process: `unshare --net=PATH` makes the namespace and binds it, then execs `ip link
 * set lo up` inside it (measured at ~4 ms here; `ip netns add` plus the CNI loopback plugin took
 * ~8 ms, and `ip netns add` cannot use any dir but /run/netns).
 *
 * With pins, the same unshare also makes a new IPC and/or UTS namespace and binds each on its
 * path (as CRI-O's pinns does): the pause container then joins them by path instead of making
 * them, and no `mount --bind` per namespace is needed after its create. On failure nothing made
 * here is left. With the host helper, the helper does the same (no program run).
 */
export async function createNetns(netnsDir: string, name: string, pins: NamespacePinPaths = {}, helper?: HostHelper): Promise<string> {
  if (!NETNS_NAME.test(name)) {
    throw invalidArgument(`netns name "${name}" must be letters, digits, "_", "." or "-"`);
  }
  await mkdir(netnsDir, { recursive: true, mode: 0o755 });
  const path = join(netnsDir, name);
  const pinFiles = (['ipc', 'uts'] as const).filter((t) => pins[t]).map((t) => ({ type: t, file: pins[t]! }));
  const made: string[] = [];
  const removeMade = async (h?: HostHelper) => {
    for (const f of made) await removeNetns(f, h).catch(() => undefined);
  };
  try {
    // The bind mount needs an existing file; exclusive create so two pods never share one.
    for (const f of [path, ...pinFiles.map((p) => p.file)]) {
      if (f !== path) await mkdir(dirname(f), { recursive: true, mode: 0o700 });
      await (await open(f, 'wx', f === path ? 0o444 : 0o600)).close();
      made.push(f);
    }
  } catch (err) {
    await removeMade();
    if (errnoCode(err) === 'EEXIST') throw alreadyExists(`network namespace ${path} or its pins already exist`, err);
    throw internal(`creating ${path}: ${(err as Error).message}`, err);
  }
  const failed = helper
    ? await helper.netns(path, pins.ipc, pins.uts).then(
        () => undefined,
        (err: unknown) => (err as Error).message,
      )
    : await runProgram('unshare', [`--net=${path}`, ...pinFiles.map((p) => `--${p.type}=${p.file}`), 'ip', 'link', 'set', 'lo', 'up']).then((r) =>
        r.exitCode === 0 ? undefined : r.stderr.trim() || r.shortMessage,
      );
  if (failed !== undefined) {
    // the namespaces may have been bound before a later step failed: remove them all.
    await removeMade(helper);
    throw internal(`creating network namespace ${path}: ${failed}`);
  }
  return path;
}

/**
 * Removes a netns file made by createNetns: unmount (lazily, so a process still inside keeps
 * working) and unlink. A path that is already gone is fine. Unlinking first costs nothing when the
 * file is not mounted and tells us (EBUSY) when it is, so the usual case spawns one `umount`.
 */
export async function removeNetns(path: string, helper?: HostHelper): Promise<void> {
  if (!path) return;
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      const st = await lstat(path);
      if (!st.isFile()) throw invalidArgument(`${path} is not a network namespace file`);
      await unlink(path);
      return;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') throw err instanceof CoreletError ? err : internal(`removing ${path}: ${(err as Error).message}`, err);
    }
    // EBUSY: the file is a mount point. Stacked mounts (rare) take one umount each.
    const failed = helper
      ? await helper.umount(path, MNT_DETACH).then(
          () => undefined,
          (err: unknown) => (err as Error).message,
        )
      : await runProgram('umount', ['--lazy', path]).then((r) => (r.exitCode === 0 ? undefined : r.stderr.trim() || r.shortMessage));
    if (failed !== undefined && !/not mounted/.test(failed)) {
      throw internal(`unmounting network namespace ${path}: ${failed}`);
    }
  }
  throw internal(`removing network namespace ${path}: still mounted after several unmounts`);
}
