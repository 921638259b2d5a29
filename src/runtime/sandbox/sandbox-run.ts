import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PodSandboxConfig__Output, UnaryImpl } from '../../cri/index.js';
import { invalidArgument, newId, nowNanos, UndoStack, wrap } from '../../lib/index.js';
import { buildSandboxSpec } from '../spec/index.js';
import type { SandboxRecord } from '../store/index.js';
import { exitDir, forgetMonitorFilesAfter, publishEvent, socketDir, type LifecycleDeps } from '../lifecycle.js';
import type { PinnedNamespace } from './namespace-pins.js';
import { readLocalhostProfile } from '../host-facts.js';
import { podHostsFile, resolvConf } from './sandbox-files.js';
import { namespaceModes } from './namespace-modes.js';
import { netnsName, networkArgs } from './sandbox-network.js';
import type { SandboxManager } from './sandbox-manager.js';
import { ownedCgroups } from './cgroup-ownership.js';
import { currentBootId, startTimeOrUnknown } from '../process-liveness.js';
import { childCgroup, ownsPodCgroupParent, podCgroupParent, removePodCgroups } from './pod-cgroup.js';
import { podStep } from './pod-step.js';

/** Size of a pod's /dev/shm, as Docker and containerd default it. */
const SHM_SIZE = '65536k';

/** What RunPodSandbox works with. */
export type RunPodSandboxDeps = Pick<
  LifecycleDeps,
  'config' | 'store' | 'logger' | 'network' | 'mounts' | 'monitor' | 'oci' | 'cgroups' | 'units' | 'namespaces' | 'host' | 'hostResolvConf' | 'events'
> & {
  readonly sandboxes: Pick<SandboxManager, 'withLock' | 'dir' | 'pinDir' | 'refreshPause' | 'sandboxFiles'>;
};

/** The longest pod name, namespace or uid accepted (a Kubernetes DNS subdomain name). */
const MAX_METADATA_BYTES = 253;

/** RunPodSandbox: everything a pod needs before its first container; rolls back on failure. */
export async function runPodSandbox(d: RunPodSandboxDeps, config: PodSandboxConfig__Output | null, runtimeHandler: string): Promise<string> {
  const { store, config: rc, logger } = d;
  if (!config) throw invalidArgument('config is required');
  const meta = config.metadata;
  if (!meta || !meta.name) throw invalidArgument('config.metadata.name is required');
  if (!meta.namespace) throw invalidArgument('config.metadata.namespace is required');
  // Kubernetes names are at most 253 bytes; a huge one would only reach CNI_ARGS and the host helper's limits
  for (const [field, value] of [['name', meta.name], ['namespace', meta.namespace], ['uid', meta.uid]] as const) {
    if (Buffer.byteLength(value ?? '') > MAX_METADATA_BYTES) throw invalidArgument(`config.metadata.${field} is ${Buffer.byteLength(value ?? '')} bytes long, over ${MAX_METADATA_BYTES}`);
  }
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
  const parent = podCgroupParent(rc.cgroupDriver, requestedParent, rc.defaultCgroupParent, id);
  // cgroupfs: the folders of the request's parent the runtime makes (cgroup-ownership.ts); without a
  // request, the pod's own folder under the default (whose /corelet stays, as the agent's /kubepods
  // does). systemd: see ownsPodCgroupParent.
  const live = store.listSandboxes();
  const ownedCgroupParents = parent.cgroupSlice ? [] : requestedParent ? await ownedCgroups(parent.cgroupParent, (p) => d.cgroups.exists(p), live) : [parent.cgroupParent];
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
    ...parent,
    ownsCgroupParent: await ownsPodCgroupParent(d, parent, requestedParent, ownedCgroupParents, live),
    ownedCgroups: ownedCgroupParents,
    shmMounted: false,
  };
  await podStep(logger, id, 'sandbox record (creating)', () => store.add('sandboxes', rec));
  const undo = new UndoStack();
  undo.push('forget sandbox record', () => store.remove('sandboxes', id));
  return d.sandboxes.withLock(id, async () => {
    try {
      await createSandbox(d, rec, hostNetwork, modes.ipc === 'NODE', undo);
      return id;
    } catch (err) {
      logger.warn({ sandbox: id, err: String(err) }, 'RunPodSandbox failed, rolling back');
      await undo.unwind((what, e) => logger.error({ sandbox: id, what, err: String(e) }, 'rollback step failed'));
      throw wrap(err, `running pod sandbox ${meta.name}`);
    }
  });
}

async function createSandbox(d: RunPodSandboxDeps, rec: SandboxRecord, hostNetwork: boolean, hostIpc: boolean, undo: UndoStack): Promise<void> {
  const { store, config: rc, network, mounts, monitor, oci, cgroups, namespaces } = d;
  const id = rec.id;
  const dir = d.sandboxes.dir(id);
  const config = rec.config;
  // Without a hostname in the request the pod takes the node's, as containerd does.
  const hostname = (hostNetwork ? '' : config.hostname) || (await readFile('/proc/sys/kernel/hostname', 'utf8')).trim();

  undo.push('remove pod cgroups', () => removePodCgroups({ cgroups, units: d.units }, rec, d.store.listSandboxes()));
  // /dev/shm and the netns are independent: make them side by side. Their names derive from the
  // id, so a daemon killed right here still finds them when it rolls the sandbox back.
  const shm = hostIpc ? undefined : join(dir, 'shm');
  const step = <T>(name: string, fn: () => Promise<T>) => podStep(d.logger, id, name, fn);
  // A pod with its own network gets its IPC and UTS namespaces from the same unshare as its netns,
  // each bound on a file of its pin dir (as CRI-O's pinns): the pause joins all three by path,
  // so no `mount --bind` per namespace runs between its create and its start. Containers join the
  // same files. (A host-network pod keeps the pin of its pause's IPC namespace after create.)
  const pinDir = d.sandboxes.pinDir(id);
  const premade: Partial<Record<PinnedNamespace, string>> = hostNetwork ? {} : { ...(hostIpc ? {} : { ipc: join(pinDir, 'ipc') }), uts: join(pinDir, 'uts') };
  undo.push('unpin namespaces', () => namespaces.unpin(pinDir));
  const [, netnsPath] = await settleAll([
    shm
      ? step('mount /dev/shm tmpfs', () => mounts.tmpfs(shm, `mode=1777,size=${SHM_SIZE},nosuid,nodev,noexec`)).then(() => {
          undo.push('unmount /dev/shm', () => mounts.unmount(shm));
        })
      : undefined,
    hostNetwork
      ? null
      : step('create netns (+ ipc, uts)', () => network.createNetns(netnsName(id), premade)).then((path) => {
          undo.push('remove netns', () => network.removeNetns(path));
          return path;
        }),
  ]);
  rec.shmMounted = shm !== undefined;
  rec.netnsPath = netnsPath;

  // CNI and the pause container do not depend on each other (pause joins the netns by path), so
  // they run side by side: pod start costs max(CNI, pause) rather than the sum.
  const files = d.sandboxes.sandboxFiles(rec);
  const networking = (async () => {
    if (!netnsPath) return { ip: '', additionalIps: [] as string[] };
    undo.push('CNI DEL', () => network.tearDown(networkArgs({ ...rec, netnsPath })));
    return step('CNI ADD (whole chain)', () => network.setUp(networkArgs({ ...rec, netnsPath })));
  })();
  const pause = (async () => {
    await step('write hostname, resolv.conf, hosts', () => Promise.all([
      writeFile(files.hostname, hostname + '\n'),
      writeFile(files.resolvConf, resolvConf(config.dns_config, d.hostResolvConf)),
      hostNetwork ? readFile('/etc/hosts', 'utf8').then((h) => writeFile(files.hosts, h)) : writeFile(files.hosts, podHostsFile(hostname, '')),
    ]));
    const spec = buildSandboxSpec({
      id,
      config,
      rootfsPath: join(rc.pauseRootfs, 'rootfs'),
      netnsPath,
      namespacePaths: premade,
      cgroupsPath: childCgroup(rec, id).oci,
      hostname,
      minOomScoreAdj: d.host.minOomScoreAdj,
      cgroupV2: d.host.cgroupV2,
      availableCapabilities: d.host.capabilities,
      seccompLocalhost: readLocalhostProfile,
    });
    await step('write pause config.json', () => writeFile(join(dir, 'config.json'), JSON.stringify(spec), { mode: 0o600 }));
    undo.push('forget conmon files', () => forgetMonitorFilesAfter(rc, id, join(dir, 'conmon.pid'))); // runs after the delete
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
    // runc has made the namespaces not made beforehand (pause is "created"): pin those of IPC and
    // UTS by bind mounts, so containers join them by a path that can never name a recycled pid's
    // namespaces, and take the pause's start time, by which a reused pid is told apart (the PID
    // namespace cannot be pinned usefully: it dies with its init).
    const types: PinnedNamespace[] = [...(hostIpc || premade.ipc ? [] : ['ipc' as const]), ...(hostNetwork || premade.uts ? [] : ['uts' as const])];
    const [pinned, startTime, conmonStartTime, bootId] = await step('pin ipc/uts (host network only) + read start times', () => Promise.all([
      types.length ? namespaces.pin(pid, types, pinDir) : {},
      // Unreadable now (EMFILE, EAGAIN): recorded without a start time, the pause is then judged
      // by its pid alone (as the container path does); a transient /proc error fails no pod.
      startTimeOrUnknown(namespaces, pid),
      startTimeOrUnknown(namespaces, conmonPid),
      currentBootId(namespaces),
    ]));
    await oci.start(id);
    return { pid, pins: { ...premade, ...pinned }, startTime, conmonPid, conmonStartTime, bootId };
  })();
  const [net, pauseProc] = await settleAll([networking, pause]);
  const pausePid = pauseProc.pid;
  if (!hostNetwork && net.ip) await step('rewrite hosts with the IP', () => writeFile(files.hosts, podHostsFile(hostname, net.ip)));
  await step('sandbox record (ready)', () => store.updateSandbox(id, (r) => {
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
  }));
  publishEvent(d, 'CONTAINER_CREATED_EVENT', id, id);
  publishEvent(d, 'CONTAINER_STARTED_EVENT', id, id);
  // A pause that died before the record said ready left its exit file unnoticed by the watcher.
  await step('refresh pause state', () => d.sandboxes.refreshPause(id));
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

export const runPodSandboxRpc = (verbs: { runPodSandbox: (config: PodSandboxConfig__Output | null, runtimeHandler: string) => Promise<string> }): UnaryImpl<'RunPodSandbox'> => async (req) => ({
  pod_sandbox_id: await verbs.runPodSandbox(req.config, req.runtime_handler),
});
