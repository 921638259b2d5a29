import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PodSandboxConfig__Output } from '../../cri/types.js';
import { failedPrecondition, invalidArgument, isKind, wrap } from '../../lib/errors.js';
import { newId, nowNanos } from '../../lib/ids.js';
import { KeyedMutex } from '../../lib/keyed-mutex.js';
import { UndoStack } from '../../lib/undo.js';
import { buildSandboxSpec } from '../spec/index.js';
import type { SandboxRecord } from '../store/index.js';
import type { PodNetworkArgs } from '../ports.js';
import { exitDir, forgetMonitorFiles, pinsDir, publishEvent, socketDir, type LifecycleDeps } from '../lifecycle.js';
import { readExitFile } from '../oci/index.js';
import type { PinnedNamespace } from './namespace-pins.js';
import { readLocalhostProfile } from '../host-facts.js';
import { podHostsFile, resolvConf } from './sandbox-files.js';
import { currentBootId, liveness, startTimeOrUnknown, type Liveness } from '../process-liveness.js';

/** Size of a pod's /dev/shm, as Docker and containerd default it. */
const SHM_SIZE = '65536k';

/** Namespace mode of a pod or container (CRI NamespaceMode). */
export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';

export function namespaceModes(config: PodSandboxConfig__Output): { network: NamespaceMode; pid: NamespaceMode; ipc: NamespaceMode } {
  const ns = config.linux?.security_context?.namespace_options;
  return {
    network: (ns?.network as NamespaceMode) ?? 'POD',
    pid: (ns?.pid as NamespaceMode) ?? 'POD',
    ipc: (ns?.ipc as NamespaceMode) ?? 'POD',
  };
}

/**
 * Pod sandboxes: a network namespace with CNI networking and a pause container (conmon + runc)
 * holding the pod's IPC and UTS namespaces (and PID when shared). Every operation on one sandbox is
 * serialised; different sandboxes proceed in parallel.
 */
export class SandboxManager {
  private readonly lock = new KeyedMutex();
  containers!: { stopContainer(id: string, timeoutSeconds: number): Promise<void>; removeContainer(id: string): Promise<void> };

  constructor(private readonly deps: LifecycleDeps) {}

  /** Runs fn while holding the sandbox's lock. */
  withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.lock.run(id, fn);
  }

  private dir(id: string): string {
    return this.deps.store.dir('sandboxes', id);
  }

  /** Where this sandbox's IPC/UTS namespaces are pinned (volatile state: gone with a reboot). */
  private pinDir(id: string): string {
    return join(pinsDir(this.deps.config), id);
  }

  private networkArgs(rec: SandboxRecord): PodNetworkArgs {
    const meta = rec.config.metadata!;
    return {
      sandboxId: rec.id,
      netnsPath: rec.netnsPath ?? '',
      podName: meta.name,
      podNamespace: meta.namespace,
      podUid: meta.uid,
      portMappings: rec.config.port_mappings.map((p) => ({
        protocol: (p.protocol as 'TCP' | 'UDP' | 'SCTP') || 'TCP',
        containerPort: p.container_port,
        hostPort: p.host_port,
        hostIp: p.host_ip,
      })),
    };
  }

  /** RunPodSandbox: everything a pod needs before its first container; rolls back on failure. */
  async run(config: PodSandboxConfig__Output | null, runtimeHandler: string): Promise<string> {
    const { store, config: rc, logger } = this.deps;
    if (!config) throw invalidArgument('config is required');
    const meta = config.metadata;
    if (!meta || !meta.name) throw invalidArgument('config.metadata.name is required');
    if (!meta.namespace) throw invalidArgument('config.metadata.namespace is required');
    if (runtimeHandler && runtimeHandler !== rc.ociRuntime.name) {
      throw invalidArgument(`unknown runtime handler "${runtimeHandler}" (this runtime serves "" and "${rc.ociRuntime.name}")`);
    }
    for (const p of config.port_mappings) {
      if (p.container_port <= 0 || p.container_port > 65535 || p.host_port < 0 || p.host_port > 65535) {
        throw invalidArgument(`invalid port mapping ${p.host_port}:${p.container_port}`);
      }
    }
    const modes = namespaceModes(config);
    const hostNetwork = modes.network === 'NODE';
    const id = newId();
    const requestedParent = config.linux?.cgroup_parent ?? '';
    const cgroupParent = requestedParent || `${rc.defaultCgroupParent}/${id}`;
    const rec: SandboxRecord = {
      id,
      name: `${meta.name}_${meta.namespace}_${meta.uid}_${meta.attempt}`,
      config,
      runtimeHandler,
      state: 'creating',
      createdAt: nowNanos(),
      netnsPath: null,
      ip: '',
      additionalIps: [],
      pausePid: 0,
      cgroupParent,
      ownsCgroupParent: !requestedParent || !(await this.deps.cgroups.exists(requestedParent)),
      shmMounted: false,
    };
    await store.add('sandboxes', rec);
    const undo = new UndoStack();
    undo.push('forget sandbox record', () => store.remove('sandboxes', id));
    return this.withLock(id, async () => {
      try {
        await this.create(rec, hostNetwork, modes.ipc === 'NODE', undo);
        return id;
      } catch (err) {
        logger.warn({ sandbox: id, err: String(err) }, 'RunPodSandbox failed, rolling back');
        await undo.unwind((what, e) => logger.error({ sandbox: id, what, err: String(e) }, 'rollback step failed'));
        throw wrap(err, `running pod sandbox ${meta.name}`);
      }
    });
  }

  private async create(rec: SandboxRecord, hostNetwork: boolean, hostIpc: boolean, undo: UndoStack): Promise<void> {
    const { store, config: rc, network, mounts, monitor, oci, cgroups, namespaces } = this.deps;
    const id = rec.id;
    const dir = this.dir(id);
    const config = rec.config;
    // Without a hostname in the request the pod takes the node's, as containerd does.
    const hostname = (hostNetwork ? '' : config.hostname) || (await readFile('/proc/sys/kernel/hostname', 'utf8')).trim();

    if (rec.ownsCgroupParent) undo.push('remove pod cgroup', () => cgroups.removeIfEmpty(rec.cgroupParent));
    // /dev/shm and the netns are independent: make them side by side. Their names derive from the
    // id, so a daemon killed right here still finds them when it rolls the sandbox back.
    const shm = hostIpc ? undefined : join(dir, 'shm');
    const [, netnsPath] = await settleAll([
      shm
        ? mounts.tmpfs(shm, `mode=1777,size=${SHM_SIZE},nosuid,nodev,noexec`).then(() => {
            undo.push('unmount /dev/shm', () => mounts.unmount(shm));
          })
        : undefined,
      hostNetwork
        ? null
        : network.createNetns(netnsName(id)).then((path) => {
            undo.push('remove netns', () => network.removeNetns(path));
            return path;
          }),
    ]);
    rec.shmMounted = shm !== undefined;
    rec.netnsPath = netnsPath;

    // CNI and the pause container do not depend on each other (pause joins the netns by path), so
    // they run side by side: pod start costs max(CNI, pause) rather than the sum.
    const files = {
      hostname: join(dir, 'hostname'),
      hosts: join(dir, 'hosts'),
      resolvConf: join(dir, 'resolv.conf'),
      shm,
    };
    const networking = (async () => {
      if (!netnsPath) return { ip: '', additionalIps: [] as string[] };
      undo.push('CNI DEL', () => network.tearDown(this.networkArgs({ ...rec, netnsPath })));
      return network.setUp(this.networkArgs({ ...rec, netnsPath }));
    })();
    const pause = (async () => {
      await Promise.all([
        writeFile(files.hostname, hostname + '\n'),
        writeFile(files.resolvConf, resolvConf(config.dns_config, this.deps.hostResolvConf)),
        hostNetwork ? readFile('/etc/hosts', 'utf8').then((h) => writeFile(files.hosts, h)) : writeFile(files.hosts, podHostsFile(hostname, '')),
      ]);
      const spec = buildSandboxSpec({
        id,
        config,
        rootfsPath: join(rc.pauseRootfs, 'rootfs'),
        netnsPath,
        cgroupsPath: `${rec.cgroupParent}/${id}`,
        hostname,
        minOomScoreAdj: this.deps.host.minOomScoreAdj,
        cgroupV2: this.deps.host.cgroupV2,
        availableCapabilities: this.deps.host.capabilities,
        seccompLocalhost: readLocalhostProfile,
      });
      await writeFile(join(dir, 'config.json'), JSON.stringify(spec), { mode: 0o600 });
      undo.push('delete pause container', () => oci.delete(id, { force: true }));
      const { pid, conmonPid } = await monitor.create({
        id,
        name: `${rec.name}_pause`,
        bundle: dir,
        logPath: join(dir, 'pause.log'),
        exitDir: exitDir(rc),
        socketDir: socketDir(rc),
        persistDir: dir,
        pidFile: join(dir, 'pause.pid'),
        conmonPidFile: join(dir, 'conmon.pid'),
      });
      // runc has made the pod's namespaces (pause is "created"): pin IPC and UTS by bind mounts, so
      // containers join them by a path that can never name a recycled pid's namespaces, and take
      // the pause's start time, by which a reused pid is told apart (the PID namespace cannot be
      // pinned usefully: it dies with its init).
      const types: PinnedNamespace[] = [...(hostIpc ? [] : ['ipc' as const]), ...(hostNetwork ? [] : ['uts' as const])];
      undo.push('unpin namespaces', () => namespaces.unpin(this.pinDir(id)));
      const [pins, startTime, conmonStartTime, bootId] = await Promise.all([
        types.length ? namespaces.pin(pid, types, this.pinDir(id)) : {},
        // Unreadable now (EMFILE, EAGAIN): recorded without a start time, the pause is then judged
        // by its pid alone (as the container path does); a transient /proc error fails no pod.
        startTimeOrUnknown(namespaces, pid),
        startTimeOrUnknown(namespaces, conmonPid),
        currentBootId(namespaces),
      ]);
      await oci.start(id);
      return { pid, pins, startTime, conmonPid, conmonStartTime, bootId };
    })();
    const [net, pauseProc] = await settleAll([networking, pause]);
    const pausePid = pauseProc.pid;
    if (!hostNetwork && net.ip) await writeFile(files.hosts, podHostsFile(hostname, net.ip));
    await store.updateSandbox(id, (r) => {
      r.netnsPath = netnsPath;
      r.shmMounted = rec.shmMounted;
      r.state = 'ready';
      r.ip = net.ip;
      r.additionalIps = net.additionalIps;
      r.pausePid = pausePid;
      r.pauseStartTime = pauseProc.startTime;
      r.conmonPid = pauseProc.conmonPid;
      r.conmonStartTime = pauseProc.conmonStartTime;
      r.bootId = pauseProc.bootId;
      r.nsPins = pauseProc.pins;
    });
    publishEvent(this.deps, 'CONTAINER_CREATED_EVENT', id, id);
    publishEvent(this.deps, 'CONTAINER_STARTED_EVENT', id, id);
    // A pause that died before the record said ready left its exit file unnoticed by the watcher.
    await this.refreshPause(id);
  }

  /**
   * Marks a ready sandbox NOTREADY when its pause process has exited (conmon wrote its exit file,
   * as for containers). The network, mounts and pins stay until StopPodSandbox, which the kubelet
   * calls when it sees NOTREADY. Returns the up-to-date record.
   */
  async refreshPause(id: string): Promise<SandboxRecord | undefined> {
    const rec = this.deps.store.findSandbox(id);
    if (!rec || rec.id !== id || rec.state !== 'ready') return rec;
    const code = await readExitFile(exitDir(this.deps.config), id);
    if (code !== undefined) return this.markPauseGone(rec, `the pause process exited with code ${code}`);
    // No exit file, but a pause whose conmon was gone first leaves none: its pid says it, for sure
    // (an unreadable /proc is not "gone"), twice: a second reading confirms the end.
    if ((await this.pauseLiveness(rec)) !== 'gone') return rec;
    const late = await readExitFile(exitDir(this.deps.config), id);
    if (late !== undefined) return this.markPauseGone(rec, `the pause process exited with code ${late}`);
    if ((await this.pauseLiveness(rec)) !== 'gone') return rec;
    return this.markPauseGone(rec, `the pause process (pid ${rec.pausePid}) is gone and left no exit file (its conmon was gone)`);
  }

  /** The pause process: recorded pid, start time and boot ('gone' only when /proc says so for sure). */
  private async pauseLiveness(rec: SandboxRecord): Promise<Liveness> {
    return liveness(this.deps.namespaces, { pid: rec.pausePid, startTime: rec.pauseStartTime, bootId: rec.bootId }, await currentBootId(this.deps.namespaces));
  }

  private async markPauseGone(rec: SandboxRecord, why: string): Promise<SandboxRecord> {
    // Whether this call made the change (rec may be stale: concurrent calls publish once).
    let changed = false;
    const updated = await this.deps.store.updateSandbox(rec.id, (r) => {
      if (r.state !== 'ready') return;
      r.state = 'notready';
      changed = true;
    });
    if (changed) {
      this.deps.logger.warn({ sandbox: rec.id, pid: rec.pausePid }, `sandbox not ready: ${why}`);
      publishEvent(this.deps, 'CONTAINER_STOPPED_EVENT', rec.id, rec.id);
    }
    return updated;
  }

  /** The host paths a container of this sandbox mounts for /etc/hostname, /etc/hosts, resolv.conf, /dev/shm. */
  sandboxFiles(rec: SandboxRecord): { hostname: string; hosts: string; resolvConf: string; shm?: string } {
    const dir = this.dir(rec.id);
    return {
      hostname: join(dir, 'hostname'),
      hosts: join(dir, 'hosts'),
      resolvConf: join(dir, 'resolv.conf'),
      shm: rec.shmMounted ? join(dir, 'shm') : undefined,
    };
  }

  /**
   * StopPodSandbox: stops every container of the pod, the pause container, tears down the network
   * and unmounts /dev/shm. Idempotent, and safe on a half-stopped sandbox.
   */
  async stop(idOrPrefix: string): Promise<void> {
    const found = this.deps.store.findSandbox(idOrPrefix);
    if (!found) return; // CRI: stopping an unknown sandbox succeeds (the kubelet retries blindly)
    await this.withLock(found.id, async () => {
      const rec = this.deps.store.findSandbox(found.id);
      if (!rec || rec.state === 'creating') return;
      await this.stopLocked(rec);
    });
  }

  private async stopLocked(rec: SandboxRecord): Promise<void> {
    const { store, network, mounts, logger } = this.deps;
    for (const c of store.listContainers().filter((c) => c.sandboxId === rec.id)) {
      await this.containers.stopContainer(c.id, 0);
    }
    await this.killPause(rec);
    if (rec.netnsPath) {
      await network.tearDown(this.networkArgs(rec)).catch((err) => {
        throw wrap(err, 'tearing down pod network');
      });
      await network.removeNetns(rec.netnsPath);
    }
    if (rec.shmMounted) await mounts.unmount(join(this.dir(rec.id), 'shm'));
    // A stopped sandbox runs no container again: its namespaces may go.
    await this.deps.namespaces.unpin(this.pinDir(rec.id));
    await store.updateSandbox(rec.id, (r) => {
      r.state = 'notready';
      r.pausePid = 0;
      r.stopped = true;
    });
    logger.info({ sandbox: rec.id }, 'sandbox stopped');
    publishEvent(this.deps, 'CONTAINER_STOPPED_EVENT', rec.id, rec.id);
  }

  private async killPause(rec: SandboxRecord): Promise<void> {
    const { oci } = this.deps;
    const st = await oci.state(rec.id);
    if (st && st.status !== 'stopped') {
      await oci.kill(rec.id, 'KILL', true).catch((err) => {
        if (!isKind(err, 'NotFound')) throw err;
      });
    }
    await oci.delete(rec.id, { force: true });
  }

  /** RemovePodSandbox: stops it if needed, removes its containers and every trace of it. */
  async remove(idOrPrefix: string): Promise<void> {
    const found = this.deps.store.findSandbox(idOrPrefix);
    if (!found) return;
    await this.withLock(found.id, async () => {
      const rec = this.deps.store.findSandbox(found.id);
      if (!rec) return;
      // NOTREADY alone may mean only that the pause died: its network and mounts are still there.
      if (!rec.stopped) await this.stopLocked(rec);
      for (const c of this.deps.store.listContainers().filter((c) => c.sandboxId === rec.id)) {
        await this.containers.removeContainer(c.id);
      }
      await this.cleanup(rec);
    });
  }

  /** Removes what a stopped sandbox still holds on the host, then its record. */
  private async cleanup(rec: SandboxRecord): Promise<void> {
    const { store, cgroups, mounts } = this.deps;
    await mounts.unmount(join(this.dir(rec.id), 'shm'));
    await this.deps.namespaces.unpin(this.pinDir(rec.id));
    if (rec.ownsCgroupParent) await cgroups.removeIfEmpty(rec.cgroupParent);
    const wasVisible = rec.state !== 'creating';
    if (wasVisible) publishEvent(this.deps, 'CONTAINER_DELETED_EVENT', rec.id, rec.id);
    await store.remove('sandboxes', rec.id);
    await forgetMonitorFiles(this.deps.config, rec.id);
  }

  /**
   * After a restart: a sandbox caught in `creating` is rolled back; a ready one whose pause process
   * died meanwhile is reported NotReady (its resources stay until StopPodSandbox, as the kubelet
   * expects to call it).
   */
  async recover(): Promise<void> {
    const { store, oci, network, logger } = this.deps;
    for (const rec of store.listSandboxes()) {
      if (rec.state === 'creating') {
        logger.warn({ sandbox: rec.id }, 'rolling back a sandbox left half-created by a previous run');
        await this.killPause(rec).catch(() => undefined);
        await network.tearDown(this.networkArgs(rec)).catch(() => undefined);
        await network.removeNetns(join(this.deps.config.netnsDir, netnsName(rec.id))).catch(() => undefined);
        await this.cleanup(rec).catch((err) => logger.error({ sandbox: rec.id, err: String(err) }, 'rollback failed'));
        continue;
      }
      if (rec.state === 'ready') {
        // Only runc's "no such container" (undefined) says the pause is gone; any other failure
        // (a timeout, EAGAIN, runc missing) says nothing: then /proc alone decides.
        const st = await oci.state(rec.id).catch((err: unknown) => {
          logger.warn({ sandbox: rec.id, err: String(err) }, 'runc state failed at start: judging the pause by its pid');
          return 'unreadable' as const;
        });
        if (st === 'unreadable') {
          if ((await this.pauseLiveness(rec)) === 'gone') await this.markPauseGone(rec, `pid ${rec.pausePid} is gone (found at start)`);
        } else if (!st || st.status !== 'running') {
          await this.markPauseGone(rec, 'the pause process is gone (found at start)');
        } else if ((await this.pauseLiveness(rec)) === 'gone') {
          await this.markPauseGone(rec, `pid ${rec.pausePid} is no longer the pause process (found at start)`);
        }
      }
    }
    // Pins of sandboxes whose record is gone (a crash between unpinning and forgetting them).
    const root = pinsDir(this.deps.config);
    for (const id of await this.deps.namespaces.listPinDirs(root)) {
      if (store.findSandbox(id)?.id === id) continue;
      logger.warn({ sandbox: id }, 'removing namespace pins of a sandbox that no longer exists');
      await this.deps.namespaces.unpin(join(root, id)).catch((err) => logger.error({ sandbox: id, err: String(err) }, 'unpinning failed'));
    }
  }

  /**
   * The sandbox, which must be ready, its pause process still the one it started (containers can
   * only be created or started in such a sandbox). A pause found dead here (its exit not yet seen,
   * or its pid now another process's) turns the sandbox NOTREADY on the spot.
   */
  async ready(id: string): Promise<SandboxRecord> {
    let rec: SandboxRecord | undefined = this.deps.store.sandbox(id);
    rec = (await this.refreshPause(rec.id)) ?? rec;
    if (rec.state === 'ready' && (await this.pauseLiveness(rec)) === 'gone') {
      rec = await this.markPauseGone(rec, `pid ${rec.pausePid} is no longer the pause process`);
    }
    if (rec.state !== 'ready') {
      throw failedPrecondition(
        `sandbox ${rec.id} is not ready (state ${rec.state === 'notready' ? 'SANDBOX_NOTREADY' : rec.state}): its pause process is gone or it was stopped; stop and remove it and run a new sandbox`,
      );
    }
    return rec;
  }
}

/** The name of a sandbox's network namespace under the netns dir. */
export function netnsName(sandboxId: string): string {
  return `corelet-${sandboxId.slice(0, 16)}`;
}

/**
 * Awaits every promise, even when one fails (so each success has pushed its undo step), then throws
 * the first failure.
 */
async function settleAll<T extends readonly unknown[]>(promises: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}
