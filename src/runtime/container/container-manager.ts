import { mkdir, stat } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { dirname, join } from 'node:path';
import { failedPrecondition, KeyedMutex, nowNanos, unixNanos } from '../../lib/index.js';
import { readExitFile, readOomFlag, readPidFile, waitForExit } from '../oci/index.js';
import type { StopWait } from './stop-wait.js';
import type { ContainerRecord } from '../store/index.js';
import { exitDir, publishEvent, type LifecycleDeps } from '../lifecycle.js';
import { currentBootId, forEachLimited, liveness, type Liveness } from '../process-liveness.js';

/**
 * How long an ended container's exit file is waited for, when its conmon's state is unknown (older
 * records, /proc unreadable), before its exit is recorded as lost.
 */
const LOST_EXIT_WAIT_MS = 1000;
/** How many records are brought up to date at once at start (each may wait LOST_EXIT_WAIT_MS). */
const START_REFRESH_PARALLEL = 16;

/**
 * How long a live conmon is believed to write the exit file of a container whose process is gone.
 * Past it (conmon frozen, in D state, or its pid not really conmon) the exit counts as lost. Our
 * choice: CRI-O bounds its wait for the exit file too, but does not look at conmon's state.
 */
const CONMON_BELIEF_MS = 30_000;

export interface ContainerManagerOptions {
  /** LOST_EXIT_WAIT_MS (tests). */
  lostExitWaitMs?: number;
  /** CONMON_BELIEF_MS (tests). */
  conmonBeliefMs?: number;
}

/** What the container manager reads and writes: the records, conmon's exit files, /proc. */
export type ContainerManagerDeps = Pick<LifecycleDeps, 'config' | 'store' | 'cgroups' | 'namespaces' | 'logger' | 'events'>;

/** The sandbox side of the exit watcher: a pause's exit file turns its sandbox NOTREADY. */
export interface PauseExits {
  refreshPause(sandboxId: string): Promise<unknown>;
}

/**
 * The containers' locks, records and exit watcher. Containers are an overlayfs rootfs over the
 * image, an OCI bundle from the pure CRI→OCI translation, and a conmon monitoring runc's container,
 * which writes the CRI log and the exit code. Exits are noticed through conmon's exit files, so they
 * are seen even when they happened while corelet was down. Each CRI verb's logic is in its own file
 * (container-create.ts, container-start.ts, container-stop.ts, ...), as containerd's
 * internal/cri/server and CRI-O's server/ keep them; they take this manager by injection.
 */
export class ContainerManager {
  private readonly lock = new KeyedMutex();
  private watcher: FSWatcher | undefined;
  /** Refreshes the exit watcher started and that have not finished (stopWatching waits for them). */
  private readonly watching = new Set<Promise<unknown>>();

  /** LOST_EXIT_WAIT_MS, or the tests' value. */
  readonly lostExitWaitMs: number;
  private readonly conmonBeliefMs: number;
  /** Since when each container's process has been seen gone without a break (in memory only). */
  private readonly goneSince = new Map<string, number>();

  /** The SIGTERM waits in progress, by container id (so a later, shorter stop can shorten them). */
  readonly stopWaits = new Map<string, StopWait>();

  constructor(
    private readonly deps: ContainerManagerDeps,
    private readonly pauses: PauseExits,
    options: ContainerManagerOptions = {},
  ) {
    this.lostExitWaitMs = options.lostExitWaitMs ?? LOST_EXIT_WAIT_MS;
    this.conmonBeliefMs = options.conmonBeliefMs ?? CONMON_BELIEF_MS;
  }

  /** Runs fn while holding the container's lock (every verb changing a container takes it). */
  withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.lock.run(id, fn);
  }

  /** The container's folder (bundle, rootfs, upper layer, pid files). */
  dir(id: string): string {
    return this.deps.store.dir('containers', id);
  }

  /** Starts watching conmon's exit files and brings every record up to date with them. */
  async start(): Promise<void> {
    const dir = exitDir(this.deps.config);
    await mkdir(dir, { recursive: true });
    this.watcher = watch(dir, (_event, file) => {
      if (!file) return;
      const name = String(file);
      let done: Promise<unknown>;
      if (this.deps.store.findContainer(name)?.id === name) {
        done = this.refresh(name).catch((err) => this.deps.logger.warn({ container: name, err: String(err) }, 'recording an exit failed'));
      } else if (this.deps.store.findSandbox(name)?.id === name) {
        // A pause process exited: the sandbox is NOTREADY from now on.
        done = this.pauses.refreshPause(name).catch((err) => this.deps.logger.warn({ sandbox: name, err: String(err) }, 'recording a pause exit failed'));
      } else return;
      this.watching.add(done);
      void done.finally(() => this.watching.delete(done));
    });
    // In parallel: after a reboot every "running" record is checked before the CRI socket listens.
    await forEachLimited(this.deps.store.listContainers(), START_REFRESH_PARALLEL, async (c) => void (await this.refresh(c.id)));
    await forEachLimited(this.deps.store.listSandboxes(), START_REFRESH_PARALLEL, async (s) => void (await this.pauses.refreshPause(s.id)));
  }

  /** Stops watching exit files; resolves once the record updates already under way are written. */
  async stopWatching(): Promise<void> {
    this.watcher?.close();
    await Promise.all(this.watching);
  }

  /**
   * An exit 137 of a container in a systemd scope whose pod slice counted an OOM kill since its
   * start, unless the runtime sent that SIGKILL itself (a stop past its grace period).
   */
  private async slicedOomKill(rec: ContainerRecord, code: number): Promise<boolean> {
    if (code !== 137 || rec.parentOomKillsAtStart === undefined || rec.killedByRuntime) return false;
    const now = (await this.deps.cgroups.stats(dirname(rec.cgroupsPath)))?.oomKills;
    return now !== undefined && now > rec.parentOomKillsAtStart;
  }

  /**
   * Records an exit that conmon reported (exit file present) if the record does not know it yet.
   * Returns the up-to-date record.
   */
  async refresh(id: string): Promise<ContainerRecord | undefined> {
    const rec = this.deps.store.findContainer(id);
    if (!rec || rec.state === 'exited') return rec;
    const dir = exitDir(this.deps.config);
    let code = await readExitFile(dir, id);
    if (code === undefined) {
      // No exit file: normally the container runs. But when its conmon is gone (SIGKILLed, or it
      // could not write the file: ENOSPC) none will ever come; a process that is gone says so.
      if (rec.state !== 'running') return rec;
      const verdict = await this.lostExit(rec, this.lostExitWaitMs);
      if (verdict === 'running') return rec;
      if (verdict === 'lost') return this.markLost(id);
      code = await readExitFile(dir, id);
      if (code === undefined) return rec;
    }
    const finished = await stat(join(dir, id)).then((s) => s.mtimeMs, () => Date.now());
    const oom = (await readOomFlag(this.dir(id))) || ((await this.deps.cgroups.stats(rec.cgroupsPath))?.oomKills ?? 0) > 0 || (await this.slicedOomKill(rec, code));
    let changed = false;
    const updated = await this.deps.store.updateContainer(id, (r) => {
      if (r.state === 'exited') return;
      changed = true;
      r.state = 'exited';
      r.exitCode = code;
      r.finishedAt = unixNanos(finished);
      if (r.startedAt === '0') r.startedAt = r.finishedAt;
      r.reason = oom ? 'OOMKilled' : code === 0 ? 'Completed' : 'Error';
      r.pid = 0;
    });
    // Published once: only by the update that saw the running → exited transition.
    if (changed) publishEvent(this.deps, 'CONTAINER_STOPPED_EVENT', id, rec.sandboxId);
    return updated;
  }

  /**
   * Waits up to ms for the container's end: its exit file, or its record exited by someone else, or
   * — with a conmon that is gone or cannot write (ENOSPC) — its process certainly gone without a
   * file (then recorded as lost; see lostExit). True once ended; undefined on timeout or abort.
   */
  async awaitExit(id: string, ms: number, signal?: AbortSignal): Promise<true | undefined> {
    const exits = exitDir(this.deps.config);
    const deadline = Date.now() + ms;
    // Since when the process has been seen gone without a break, its conmon's state unknown.
    let deadSince: number | undefined;
    for (;;) {
      if ((await waitForExit(exits, id, Math.min(250, Math.max(0, deadline - Date.now())), { signal })) !== undefined) return true;
      if (signal?.aborted) return undefined;
      const cur = this.deps.store.findContainer(id);
      if (!cur || cur.state === 'exited') return true;
      if ((await this.processLiveness(cur)) !== 'gone') {
        deadSince = undefined; // seen alive (or unreadable) again: an earlier "gone" was not its end
      } else {
        const conmon = await this.conmonLiveness(cur);
        if (conmon === 'alive') deadSince = undefined; // conmon writes the exit file
        else if (conmon === 'gone' || Date.now() - (deadSince ??= Date.now()) >= this.lostExitWaitMs) {
          const verdict = await this.lostExit(cur, 0);
          if (verdict === 'exit-file') return true;
          if (verdict === 'lost') {
            await this.markLost(id);
            return true;
          }
          deadSince = undefined;
        }
      }
      if (Date.now() >= deadline) return undefined;
    }
  }

  /**
   * With no exit file seen: whether a running container's end was lost. Its process must be gone
   * for sure (/proc: no such pid, another start time, another boot — an unreadable /proc is not
   * "gone"); while its conmon lives the exit file is coming ('running'); with conmon gone the file
   * was written before it ended or never will be; with conmon's state unknown it gets waitMs to
   * come. A second reading of the process then confirms the end.
   */
  async lostExit(rec: ContainerRecord, waitMs: number): Promise<'running' | 'exit-file' | 'lost'> {
    if ((await this.processLiveness(rec)) !== 'gone') return 'running';
    const conmon = await this.conmonLiveness(rec);
    if (conmon === 'alive') return 'running';
    const dir = exitDir(this.deps.config);
    const code = conmon === 'gone' || waitMs <= 0 ? await readExitFile(dir, rec.id) : await waitForExit(dir, rec.id, waitMs);
    if (code !== undefined) return 'exit-file';
    return (await this.processLiveness(rec)) === 'gone' ? 'lost' : 'running';
  }

  /** The container's process (recorded pid, start time and boot). */
  private async processLiveness(rec: ContainerRecord): Promise<Liveness> {
    const l = await liveness(this.deps.namespaces, { pid: rec.pid, startTime: rec.pidStartTime, bootId: rec.bootId }, await currentBootId(this.deps.namespaces));
    if (l !== 'gone') this.goneSince.delete(rec.id);
    else if (!this.goneSince.has(rec.id)) this.goneSince.set(rec.id, Date.now());
    return l;
  }

  /**
   * The container's conmon: as recorded at create, or for older records from the conmon pid file
   * (a live pid there without a start time to check may be another process: unknown).
   */
  private async conmonLiveness(rec: ContainerRecord): Promise<Liveness> {
    const ns = this.deps.namespaces;
    const boot = await currentBootId(ns);
    const pid = rec.conmonPid ?? (await readPidFile(join(this.dir(rec.id), 'conmon.pid')));
    const startTime = rec.conmonPid !== undefined ? rec.conmonStartTime : undefined;
    const l = await liveness(ns, { pid, startTime, bootId: rec.conmonPid !== undefined ? rec.bootId : undefined }, boot);
    if (l !== 'alive') return l;
    // Not believed alive: a pid without a start time to check (maybe another process now), a
    // stopped conmon (SIGSTOP), or one that has not written the file for conmonBeliefMs.
    if (startTime === undefined) return 'unknown';
    if (pid !== undefined && (await ns.stopped?.(pid).catch(() => false))) return 'unknown';
    const since = this.goneSince.get(rec.id);
    if (since !== undefined && Date.now() - since >= this.conmonBeliefMs) {
      this.deps.logger.warn({ container: rec.id, conmonPid: pid }, 'container process gone and no exit file from its live conmon: not waiting longer');
      return 'unknown';
    }
    return 'alive';
  }

  /** Records an exit nobody saw (conmon gone): exit code unknown. Returns the record. */
  async markLost(id: string): Promise<ContainerRecord> {
    let changed = false;
    const updated = await this.deps.store.updateContainer(id, (r) => {
      if (r.state === 'exited') return;
      changed = true;
      r.state = 'exited';
      r.exitCode = 255;
      r.reason = 'Unknown';
      r.message = 'the container exited while its monitor was gone';
      r.finishedAt = nowNanos();
      r.pid = 0;
    });
    this.goneSince.delete(id);
    if (changed) {
      this.deps.logger.warn({ container: id }, 'container exited while its conmon was gone: exit code unknown');
      publishEvent(this.deps, 'CONTAINER_STOPPED_EVENT', id, updated.sandboxId);
    }
    return updated;
  }

  /** Forgets what the exit watcher kept in memory about a removed container. */
  forget(id: string): void {
    this.goneSince.delete(id);
  }

  /** The container, up to date with its exit file; FailedPrecondition unless it is running. */
  async running(idOrPrefix: string): Promise<ContainerRecord> {
    const rec = await this.refresh(this.deps.store.container(idOrPrefix).id);
    if (!rec || rec.state !== 'running') throw failedPrecondition(`container ${idOrPrefix} is not running`);
    return rec;
  }
}
