import type { NamespacePort } from './sandbox/namespace-pins.js';

/**
 * Whether a recorded process still runs, from /proc alone:
 * - `gone`: /proc says so for sure (no such pid, a zombie, another start time, another boot);
 * - `alive`: the pid runs with the recorded start time (or none was recorded);
 * - `unknown`: nothing recorded to judge by, or /proc could not be read (EMFILE, ENOMEM, EAGAIN…).
 * Only `gone` ever ends a container or a pod; `unknown` counts as alive.
 */
export type Liveness = 'alive' | 'gone' | 'unknown';

/** A process as recorded: its pid, the kernel's start time of it, and the boot it ran in. */
export interface ProcessIdentity {
  pid: number | undefined;
  startTime: string | undefined;
  bootId: string | undefined;
}

/**
 * Liveness of a recorded process. currentBoot is this boot's id (undefined when unreadable): a
 * record of another boot is gone; a record without a boot id (older versions) is judged by pid and
 * start time only.
 */
export async function liveness(ns: NamespacePort, p: ProcessIdentity, currentBoot: string | undefined): Promise<Liveness> {
  if (p.pid === undefined || p.pid <= 0) return 'unknown';
  if (p.bootId !== undefined && currentBoot !== undefined && p.bootId !== currentBoot) return 'gone';
  let now: string | undefined;
  try {
    now = await ns.startTime(p.pid);
  } catch {
    return 'unknown';
  }
  if (now === undefined) return 'gone';
  if (p.startTime === undefined) return 'alive';
  return now === p.startTime ? 'alive' : 'gone';
}

/** The start time of a process just created, or undefined when it cannot be read now (never a failure). */
export async function startTimeOrUnknown(ns: NamespacePort, pid: number): Promise<string | undefined> {
  return ns.startTime(pid).catch(() => undefined);
}

/** Runs fn on every item, at most limit at a time; resolves when all have settled, rejects with the first error. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item).catch((err) => errors.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length) throw errors[0];
}

let bootRead: { fn: NamespacePort['bootId']; value: Promise<string | undefined> } | undefined;

/** This boot's id, read once (again only after a failed read, or through another port). */
export function currentBootId(ns: NamespacePort): Promise<string | undefined> {
  if (bootRead?.fn !== ns.bootId) {
    const read = { fn: ns.bootId, value: ns.bootId().catch(() => undefined) };
    void read.value.then((v) => {
      if (v === undefined && bootRead === read) bootRead = undefined;
    });
    bootRead = read;
  }
  return bootRead.value;
}

/**
 * True when the OCI runtime would certainly NOT report a container stopped, from its record alone,
 * without running `runc state` (a Go program, ~3 ms of CPU and a fork of the daemon, twice per pod
 * stop). runc and crun call a container stopped exactly when its init pid is gone, a zombie or dead,
 * or has another start time than the one they recorded at create; corelet recorded the same pid
 * and start time (field 22 of /proc/<pid>/stat) at create. So the pid running with that start time
 * in this boot means created, running or paused. Anything else (a "gone" reading, which one
 * misread must not decide alone; nothing recorded; /proc unreadable) is false: ask the runtime.
 */
export async function runningByRecord(ns: NamespacePort, p: ProcessIdentity): Promise<boolean> {
  if (p.pid === undefined || p.pid <= 0 || p.startTime === undefined) return false;
  return (await liveness(ns, p, await currentBootId(ns))) === 'alive';
}
