import { lstat, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { ContainerConfig__Output, LinuxContainerResources__Output, PodSandboxConfig__Output } from '../../cri/types.js';
import { errnoCode, failedPrecondition, invalidArgument, isKind, notFound, wrap } from '../../lib/errors.js';
import { newId, nowNanos, unixNanos } from '../../lib/ids.js';
import { KeyedMutex } from '../../lib/keyed-mutex.js';
import { UndoStack } from '../../lib/undo.js';
import { safeJoin } from '../../lib/safe-join.js';
import { buildContainerSpec, normalizeSignal, toOciResources, type OciSpec } from '../spec/index.js';
import { conmonCtlPath, readExitFile, readOomFlag, reopenContainerLog, waitForExit } from '../oci/index.js';
import { StopWait } from './stop-wait.js';
import { forgetContainerStats } from './container-stats.js';
import { deviceInfo, hostDevices, readLocalhostProfile } from '../host-facts.js';
import type { ContainerRecord, SandboxRecord } from '../store/index.js';
import type { ExecResult } from '../ports.js';
import { exitDir, forgetMonitorFiles, publishEvent, socketDir, type LifecycleDeps } from '../lifecycle.js';
import { namespaceModes, type SandboxManager } from '../sandbox/sandbox-manager.js';
import { currentBootId, forEachLimited, liveness, startTimeOrUnknown, type Liveness } from '../process-liveness.js';

/** How long to wait for an exit after SIGKILL before giving up with an error. */
const KILL_WAIT_MS = 30_000;
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

/**
 * Containers: an overlayfs rootfs over the image, an OCI bundle from the pure CRI→OCI translation,
 * and a conmon monitoring runc's container, which writes the CRI log and the exit code. Exits are
 * noticed through conmon's exit files, so they are seen even when they happened while corelet was
 * down.
 */
export class ContainerManager {
  private readonly lock = new KeyedMutex();
  private watcher: FSWatcher | undefined;
  /** Refreshes the exit watcher started and that have not finished (stopWatching waits for them). */
  private readonly watching = new Set<Promise<unknown>>();

  private readonly lostExitWaitMs: number;
  private readonly conmonBeliefMs: number;
  /** Since when each container's process has been seen gone without a break (in memory only). */
  private readonly goneSince = new Map<string, number>();

  constructor(
    private readonly deps: LifecycleDeps,
    private readonly sandboxes: SandboxManager,
    options: ContainerManagerOptions = {},
  ) {
    this.lostExitWaitMs = options.lostExitWaitMs ?? LOST_EXIT_WAIT_MS;
    this.conmonBeliefMs = options.conmonBeliefMs ?? CONMON_BELIEF_MS;
  }

  private dir(id: string): string {
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
        done = this.sandboxes.refreshPause(name).catch((err) => this.deps.logger.warn({ sandbox: name, err: String(err) }, 'recording a pause exit failed'));
      } else return;
      this.watching.add(done);
      void done.finally(() => this.watching.delete(done));
    });
    // In parallel: after a reboot every "running" record is checked before the CRI socket listens.
    await forEachLimited(this.deps.store.listContainers(), START_REFRESH_PARALLEL, async (c) => void (await this.refresh(c.id)));
    await forEachLimited(this.deps.store.listSandboxes(), START_REFRESH_PARALLEL, async (s) => void (await this.sandboxes.refreshPause(s.id)));
  }

  /** Stops watching exit files; resolves once the record updates already under way are written. */
  async stopWatching(): Promise<void> {
    this.watcher?.close();
    await Promise.all(this.watching);
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
    const oom = (await readOomFlag(this.dir(id))) || ((await this.deps.cgroups.stats(rec.cgroupsPath))?.oomKills ?? 0) > 0;
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

  /** CreateContainer. */
  async create(sandboxId: string, config: ContainerConfig__Output | null, sandboxConfig: PodSandboxConfig__Output | null): Promise<string> {
    const { store, images, logger } = this.deps;
    if (!config) throw invalidArgument('config is required');
    const meta = config.metadata;
    if (!meta || !meta.name) throw invalidArgument('config.metadata.name is required');
    const imageRef = config.image?.image;
    if (!imageRef) throw invalidArgument('config.image.image is required');
    const sandbox = await this.sandboxes.ready(sandboxId);
    const image = images.get(imageRef);
    if (!image) throw notFound(`image "${imageRef}" is not present on this node; pull it first`);
    const id = newId();
    const rec: ContainerRecord = {
      id,
      sandboxId: sandbox.id,
      name: `${meta.name}_${sandbox.name}_${meta.attempt}`,
      config,
      imageName: imageRef,
      imageId: image.id,
      state: 'created',
      createdAt: nowNanos(),
      startedAt: '0',
      finishedAt: '0',
      exitCode: 0,
      reason: '',
      message: '',
      pid: 0,
      // log_path is relative to the pod's log folder (CRI): never a way to make conmon write elsewhere.
      logPath: sandbox.config.log_directory && config.log_path ? safeJoin(sandbox.config.log_directory, [config.log_path], 'log_path') : '',
      cgroupsPath: `${sandbox.cgroupParent}/${id}`,
      stopSignal: 15,
      user: { uid: 0, gid: 0, additionalGids: [] },
    };
    const undo = new UndoStack();
    await store.add('containers', rec);
    undo.push('forget container record', () => store.remove('containers', id));
    try {
      return await this.lock.run(id, async () => {
        await this.build(rec, sandbox, sandboxConfig ?? sandbox.config, image.config, images.rootfsPath(image.id), undo);
        return id;
      });
    } catch (err) {
      logger.warn({ container: id, err: String(err) }, 'CreateContainer failed, rolling back');
      await undo.unwind((what, e) => logger.error({ container: id, what, err: String(e) }, 'rollback step failed'));
      throw wrap(err, `creating container ${meta.name}`);
    }
  }

  private async build(
    rec: ContainerRecord,
    sandbox: SandboxRecord,
    sandboxConfig: PodSandboxConfig__Output,
    imageConfig: import('../image/index.js').ImageConfig,
    imageRootfs: string,
    undo: UndoStack,
  ): Promise<void> {
    const { config: rc, mounts, monitor, oci, store, host } = this.deps;
    const dir = this.dir(rec.id);
    const rootfs = join(dir, 'rootfs');
    const config = rec.config;
    // The overlay mount (a process) runs while the spec is worked out.
    const mounting = mounts.overlay(imageRootfs, join(dir, 'upper'), join(dir, 'work'), rootfs).then(() => {
      undo.push('unmount rootfs', () => mounts.unmount(rootfs));
    });
    let spec: OciSpec;
    try {
      // Host directories the pod mounts are created when missing, as containerd does.
      await Promise.all(
        config.mounts.map(async (m) => {
          if (!isAbsolute(m.host_path)) throw invalidArgument(`mount host_path must be absolute: "${m.host_path}"`);
          await mkdir(m.host_path, { recursive: true }).catch((err) => {
            if (errnoCode(err) !== 'EEXIST') throw err;
          });
        }),
      );
      const [passwd, group] = await Promise.all([readImageFile(imageRootfs, 'etc/passwd'), readImageFile(imageRootfs, 'etc/group')]);
      const modes = namespaceModes(sandbox.config);
      const containerPid = config.linux?.security_context?.namespace_options?.pid as string | undefined;
      const pausePidNs = `/proc/${sandbox.pausePid}/ns`;
      spec = buildContainerSpec({
        id: rec.id,
        config,
        sandboxConfig,
        sandboxId: sandbox.id,
        image: imageConfig,
        rootfsPath: rootfs,
        passwd,
        group,
        namespaces: {
          network: sandbox.netnsPath ?? undefined,
          // The pinned files when the sandbox has them (never a path through a pid that may be reused).
          ipc: modes.ipc === 'NODE' ? undefined : (sandbox.nsPins?.ipc ?? `${pausePidNs}/ipc`),
          uts: modes.network === 'NODE' ? undefined : (sandbox.nsPins?.uts ?? `${pausePidNs}/uts`),
          pid: containerPid === 'NODE' ? 'host' : containerPid === 'CONTAINER' ? 'new' : modes.pid === 'NODE' ? 'host' : `${pausePidNs}/pid`,
        },
        cgroupsPath: rec.cgroupsPath,
        sandboxFiles: this.sandboxes.sandboxFiles(sandbox),
        minOomScoreAdj: host.minOomScoreAdj,
        hostname: (await readFile(this.sandboxes.sandboxFiles(sandbox).hostname, 'utf8')).trim(),
        cgroupV2: host.cgroupV2,
        availableCapabilities: host.capabilities,
        swapAvailable: host.swapAvailable,
        hugetlbAvailable: host.hugetlbAvailable,
        apparmorEnabled: host.apparmorEnabled,
        seccompLocalhost: (path: string) => readLocalhostProfile(path),
        deviceInfo,
        hostDevices: config.linux?.security_context?.privileged ? hostDevices() : undefined,
      });
      const stopSignal = config.stop_signal && config.stop_signal !== 'RUNTIME_DEFAULT' ? config.stop_signal : imageConfig.stopSignal;
      rec.stopSignal = stopSignal ? normalizeSignal(stopSignal) : 15;
      rec.user = {
        uid: spec.process.user.uid,
        gid: spec.process.user.gid,
        additionalGids: spec.process.user.additionalGids ?? [],
      };
    } finally {
      await mounting.catch(() => undefined);
    }
    await mounting;
    await writeFile(join(dir, 'config.json'), JSON.stringify(spec), { mode: 0o600 });
    if (rec.logPath) await mkdir(dirname(rec.logPath), { recursive: true });
    undo.push('delete runc container', () => oci.delete(rec.id, { force: true }));
    const { pid, conmonPid } = await monitor.create({
      id: rec.id,
      name: rec.name,
      bundle: dir,
      logPath: rec.logPath || join(dir, 'container.log'),
      exitDir: exitDir(rc),
      socketDir: socketDir(rc),
      persistDir: dir,
      pidFile: join(dir, 'pid'),
      conmonPidFile: join(dir, 'conmon.pid'),
      terminal: config.tty,
      stdin: config.stdin,
      stdinOnce: config.stdin_once,
      logSizeMax: rc.logSizeMax,
    });
    const [pidStartTime, conmonStartTime, bootId] = await Promise.all([
      startTimeOrUnknown(this.deps.namespaces, pid),
      startTimeOrUnknown(this.deps.namespaces, conmonPid),
      currentBootId(this.deps.namespaces),
    ]);
    await store.updateContainer(rec.id, (r) => {
      r.pid = pid;
      r.pidStartTime = pidStartTime;
      r.conmonPid = conmonPid;
      r.conmonStartTime = conmonStartTime;
      r.bootId = bootId;
      r.stopSignal = rec.stopSignal;
      r.user = rec.user;
    });
    publishEvent(this.deps, 'CONTAINER_CREATED_EVENT', rec.id, rec.sandboxId);
  }

  /** StartContainer: only a created container can start. */
  async startContainer(idOrPrefix: string): Promise<void> {
    const found = this.deps.store.container(idOrPrefix);
    await this.lock.run(found.id, async () => {
      const rec = this.deps.store.container(found.id);
      if (rec.state !== 'created') throw failedPrecondition(`container ${rec.id} is ${rec.state}, only a created container can be started`);
      // Its sandbox's namespaces must still be the pod's (the pause alive, the same process).
      await this.sandboxes.ready(rec.sandboxId);
      // Taken before the start so that an instant exit can never precede it.
      const startedAt = nowNanos();
      try {
        await this.deps.oci.start(rec.id);
      } catch (err) {
        await this.deps.store.updateContainer(rec.id, (r) => {
          r.state = 'exited';
          r.exitCode = 128;
          r.reason = 'StartError';
          r.message = err instanceof Error ? err.message : String(err);
          r.finishedAt = nowNanos();
        });
        throw wrap(err, `starting container ${rec.id}`);
      }
      await this.deps.store.updateContainer(rec.id, (r) => {
        if (r.state === 'created') r.state = 'running';
        r.startedAt = startedAt;
      });
      publishEvent(this.deps, 'CONTAINER_STARTED_EVENT', rec.id, rec.sandboxId);
      await this.refresh(rec.id);
    });
  }

  /**
   * StopContainer: the stop signal, then SIGKILL when timeoutSeconds pass; returns once the
   * container has exited. Stopping an exited or unknown-to-runc container is a no-op.
   */
  /** The SIGTERM waits in progress, by container id (so a later, shorter stop can shorten them). */
  private readonly stopWaits = new Map<string, StopWait>();

  async stop(idOrPrefix: string, timeoutSeconds: number): Promise<void> {
    const found = this.deps.store.findContainer(idOrPrefix);
    if (!found) return; // CRI: stopping an unknown container succeeds (the kubelet retries blindly)
    // A shorter timeout shortens the wait of a stop in progress (a second, shorter delete), as in CRI-O.
    this.stopWaits.get(found.id)?.shorten(Date.now() + timeoutSeconds * 1000);
    await this.lock.run(found.id, () => this.stopLocked(found.id, timeoutSeconds));
  }

  private async stopLocked(id: string, timeoutSeconds: number): Promise<void> {
    const { oci } = this.deps;
    const rec = await this.refresh(id);
    if (!rec || rec.state === 'exited') return;
    const st = await oci.state(id);
    if (!st || st.status === 'stopped') {
      // runc reports a zombie as stopped: conmon may not have reaped it and written the exit file
      // yet. Lost only when lostExit says so (never while conmon lives); otherwise wait for the file.
      const verdict = await this.lostExit(rec, this.lostExitWaitMs);
      if (verdict === 'lost') await this.markLost(id);
      else if (verdict === 'running' && (await this.awaitExit(id, KILL_WAIT_MS)) === undefined) {
        throw wrap(new Error('runc reports it stopped, but no exit came'), `stopping container ${id}`);
      }
      await this.refresh(id);
      return;
    }
    if (timeoutSeconds > 0 && rec.state === 'running') {
      await oci.kill(id, rec.stopSignal).catch(ignoreGone);
      const wait = new StopWait(Date.now() + timeoutSeconds * 1000);
      this.stopWaits.set(id, wait);
      try {
        if ((await wait.until((ms, signal) => this.awaitExit(id, ms, signal))) !== undefined) {
          await this.refresh(id);
          return;
        }
      } finally {
        this.stopWaits.delete(id);
      }
    }
    await oci.kill(id, 'KILL', true).catch(ignoreGone);
    if ((await this.awaitExit(id, KILL_WAIT_MS)) === undefined) throw wrap(new Error('no exit after SIGKILL'), `stopping container ${id}`);
    await this.refresh(id);
  }

  /**
   * Waits up to ms for the container's end: its exit file, or its record exited by someone else, or
   * — with a conmon that is gone or cannot write (ENOSPC) — its process certainly gone without a
   * file (then recorded as lost; see lostExit). True once ended; undefined on timeout or abort.
   */
  private async awaitExit(id: string, ms: number, signal?: AbortSignal): Promise<true | undefined> {
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
  private async lostExit(rec: ContainerRecord, waitMs: number): Promise<'running' | 'exit-file' | 'lost'> {
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
    const pid = rec.conmonPid ?? (await readPid(join(this.dir(rec.id), 'conmon.pid')));
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
  private async markLost(id: string): Promise<ContainerRecord> {
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

  /** RemoveContainer: kills it if still running, then removes every trace; unknown ids succeed. */
  async remove(idOrPrefix: string): Promise<void> {
    const found = this.deps.store.findContainer(idOrPrefix);
    if (!found) return;
    await this.lock.run(found.id, async () => {
      const rec = this.deps.store.findContainer(found.id);
      if (!rec) return;
      if (rec.state !== 'exited') await this.stopLocked(rec.id, 0);
      await this.deps.oci.delete(rec.id, { force: true });
      await this.deps.mounts.unmount(join(this.dir(rec.id), 'rootfs'));
      publishEvent(this.deps, 'CONTAINER_DELETED_EVENT', rec.id, rec.sandboxId);
      await this.deps.store.remove('containers', rec.id);
      this.goneSince.delete(rec.id);
      forgetContainerStats(rec.id);
      await forgetMonitorFiles(this.deps.config, rec.id);
    });
  }

  /** The container, up to date with its exit file; FailedPrecondition unless it is running. */
  async running(idOrPrefix: string): Promise<ContainerRecord> {
    const rec = await this.refresh(this.deps.store.container(idOrPrefix).id);
    if (!rec || rec.state !== 'running') throw failedPrecondition(`container ${idOrPrefix} is not running`);
    return rec;
  }

  /** ExecSync: runs cmd in the container and collects its output. */
  async execSync(idOrPrefix: string, cmd: string[], timeoutSeconds: number): Promise<ExecResult> {
    if (cmd.length === 0) throw invalidArgument('cmd is required');
    const rec = await this.running(idOrPrefix);
    const spec = JSON.parse(await readFile(join(this.dir(rec.id), 'config.json'), 'utf8')) as OciSpec;
    return this.deps.oci.exec(rec.id, { process: spec.process, args: cmd, timeoutMs: timeoutSeconds > 0 ? timeoutSeconds * 1000 : undefined });
  }

  /** UpdateContainerResources: applies the new limits through the OCI runtime and remembers them. */
  async updateResources(idOrPrefix: string, resources: LinuxContainerResources__Output | null): Promise<void> {
    const found = this.deps.store.container(idOrPrefix);
    if (!resources) return;
    await this.lock.run(found.id, async () => {
      const rec = await this.refresh(found.id);
      if (!rec || rec.state === 'exited') throw failedPrecondition(`container ${found.id} is not running`);
      const { cgroupV2, swapAvailable, hugetlbAvailable } = this.deps.host;
      await this.deps.oci.update(rec.id, toOciResources(resources, { cgroupV2, swapAvailable, hugetlbAvailable }));
      await this.deps.store.updateContainer(rec.id, (r) => {
        if (!r.config.linux) r.config.linux = { resources: null, security_context: null } as unknown as typeof r.config.linux;
        r.config.linux!.resources = resources;
      });
    });
  }

  /** ReopenContainerLog: asks conmon to reopen the log file (after the kubelet rotated it). */
  async reopenLog(idOrPrefix: string): Promise<void> {
    const rec = await this.running(idOrPrefix);
    await reopenContainerLog(conmonCtlPath(socketDir(this.deps.config), rec.id), rec.logPath || undefined);
  }
}

/** A pid file's pid; undefined when missing or unreadable. */
async function readPid(path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function ignoreGone(err: unknown): void {
  if (!isKind(err, 'NotFound')) throw err;
}

/**
 * Reads a file of an image's rootfs without following a symlink out of it: a symlinked
 * /etc/passwd would otherwise read the host's. Missing or symlinked files read as undefined.
 */
async function readImageFile(rootfs: string, path: string): Promise<string | undefined> {
  const full = join(rootfs, path);
  try {
    if (!(await lstat(dirname(full))).isDirectory()) return undefined;
    const st = await lstat(full);
    if (!st.isFile()) return undefined;
    return await readFile(full, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}
