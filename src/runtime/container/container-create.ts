import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import type { ContainerConfig__Output, PodSandboxConfig__Output, UnaryImpl } from '../../cri/index.js';
import { errnoCode, invalidArgument, newId, notFound, nowNanos, safeJoin, UndoStack, wrap } from '../../lib/index.js';
import { buildContainerSpec, envValue, normalizeSignal, type OciSpec } from '../spec/index.js';
import { deviceInfo, hostDevices, readLocalhostProfile } from '../host-facts.js';
import type { ContainerRecord, SandboxRecord } from '../store/index.js';
import type { ImageConfig, ImageRecord } from '../image/index.js';
import { exitDir, forgetMonitorFilesAfter, publishEvent, socketDir, type LifecycleDeps } from '../lifecycle.js';
import { namespaceModes } from '../sandbox/namespace-modes.js';
import type { SandboxManager } from '../sandbox/sandbox-manager.js';
import { currentBootId, startTimeOrUnknown } from '../process-liveness.js';
import type { ContainerManager } from './container-manager.js';
import { hostPathsToCreate, resolveImageVolumes } from './image-volumes.js';
import { childCgroup } from '../sandbox/pod-cgroup.js';
import { podStep } from '../sandbox/pod-step.js';

/** What CreateContainer works with. */
export type CreateContainerDeps = Pick<LifecycleDeps, 'config' | 'store' | 'images' | 'logger' | 'mounts' | 'monitor' | 'oci' | 'host' | 'namespaces' | 'events'> & {
  readonly containers: Pick<ContainerManager, 'withLock' | 'dir'>;
  readonly sandboxes: Pick<SandboxManager, 'ready' | 'sandboxFiles'>;
};

/**
 * CreateContainer: the record, then under the container's lock its rootfs (an overlay over the
 * image), its OCI spec and a conmon holding runc's created container; rolled back on failure.
 */
export async function createContainer(d: CreateContainerDeps, sandboxId: string, config: ContainerConfig__Output | null, sandboxConfig: PodSandboxConfig__Output | null): Promise<string> {
  const { images } = d;
  if (!config) throw invalidArgument('config is required');
  const meta = config.metadata;
  if (!meta || !meta.name) throw invalidArgument('config.metadata.name is required');
  const imageRef = config.image?.image;
  if (!imageRef) throw invalidArgument('config.image.image is required');
  const sandbox = await d.sandboxes.ready(sandboxId);
  // The images are held from RemoveImage until the record (which keeps them in use) is stored or rolled back.
  const held = images.hold(imageRef);
  if (!held) throw notFound(`image "${imageRef}" is not present on this node; pull it first`);
  const releases = [held.release];
  try {
    return await createHeld(d, sandbox, held.image, config, sandboxConfig, releases);
  } finally {
    for (const release of releases) release();
  }
}

async function createHeld(
  d: CreateContainerDeps,
  sandbox: SandboxRecord,
  image: ImageRecord,
  config: ContainerConfig__Output,
  sandboxConfig: PodSandboxConfig__Output | null,
  releases: Array<() => void>,
): Promise<string> {
  const { store, images, logger } = d;
  const meta = config.metadata!;
  const imageRef = config.image!.image;
  // Image volumes: resolved (and refused) before anything is made; the record keeps their image ids.
  const volumes = await resolveImageVolumes(images, config, releases);
  const id = newId();
  const rec: ContainerRecord = {
    id,
    sandboxId: sandbox.id,
    name: `${meta.name}_${sandbox.name}_${meta.attempt}`,
    config: { ...volumes.recordConfig, envs: config.envs.map((kv, i) => ({ key: kv.key, value: envValue(kv.value, i, kv.key) })) },
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
    cgroupsPath: childCgroup(sandbox, id).path,
    stopSignal: 15,
    user: { uid: 0, gid: 0, additionalGids: [] },
  };
  const undo = new UndoStack();
  await podStep(logger, id, 'container record (created)', () => store.add('containers', rec));
  undo.push('forget container record', () => store.remove('containers', id));
  try {
    return await d.containers.withLock(id, async () => {
      await build(d, rec, volumes.specConfig, sandbox, sandboxConfig ?? sandbox.config, image.config, images.rootfsPath(image.id), undo);
      return id;
    });
  } catch (err) {
    logger.warn({ container: id, err: String(err) }, 'CreateContainer failed, rolling back');
    await undo.unwind((what, e) => logger.error({ container: id, what, err: String(e) }, 'rollback step failed'));
    throw wrap(err, `creating container ${meta.name}`);
  }
}

async function build(
  d: CreateContainerDeps,
  rec: ContainerRecord,
  config: ContainerConfig__Output,
  sandbox: SandboxRecord,
  sandboxConfig: PodSandboxConfig__Output,
  imageConfig: ImageConfig,
  imageRootfs: string,
  undo: UndoStack,
): Promise<void> {
  const { config: rc, mounts, monitor, oci, store, host } = d;
  const dir = d.containers.dir(rec.id);
  const rootfs = join(dir, 'rootfs');
  // The overlay mount (a process) runs while the spec is worked out.
  const step = <T>(name: string, fn: () => Promise<T>) => podStep(d.logger, rec.id, name, fn);
  const mounting = step('mount overlay rootfs', () => mounts.overlay(imageRootfs, join(dir, 'upper'), join(dir, 'work'), rootfs)).then(() => {
    undo.push('unmount rootfs', () => mounts.unmount(rootfs));
  });
  let spec: OciSpec;
  const specStarted = Date.now();
  try {
    // Host directories the pod mounts are created when missing, as containerd does (the request's:
    // an image volume's source is the image's own folder).
    await Promise.all(
      hostPathsToCreate(rec.config).map(async (hostPath) => {
        if (!isAbsolute(hostPath)) throw invalidArgument(`mount host_path must be absolute: "${hostPath}"`);
        await mkdir(hostPath, { recursive: true }).catch((err) => {
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
      cgroupsPath: childCgroup(sandbox, rec.id).oci,
      sandboxFiles: d.sandboxes.sandboxFiles(sandbox),
      minOomScoreAdj: host.minOomScoreAdj,
      hostname: (await readFile(d.sandboxes.sandboxFiles(sandbox).hostname, 'utf8')).trim(),
      cgroupV2: host.cgroupV2,
      availableCapabilities: host.capabilities,
      swapAvailable: host.swapAvailable,
      hugetlbAvailable: host.hugetlbAvailable,
      apparmorEnabled: host.apparmorEnabled,
      seccompLocalhost: (path: string) => readLocalhostProfile(path),
      deviceInfo,
      hostDevices: config.linux?.security_context?.privileged ? hostDevices() : undefined,
    });
    // The enum's names: SIGNAL_SIGTERM since CRI v1.37 (the wire carries its number either way).
    const stopSignal = config.stop_signal && config.stop_signal !== 'SIGNAL_RUNTIME_DEFAULT' ? config.stop_signal : imageConfig.stopSignal;
    rec.stopSignal = stopSignal ? normalizeSignal(stopSignal) : 15;
    rec.user = {
      uid: spec.process.user.uid,
      gid: spec.process.user.gid,
      additionalGids: spec.process.user.additionalGids ?? [],
    };
    d.logger.debug({ id: rec.id, step: 'build container spec', ms: Date.now() - specStarted }, 'pod step');
  } finally {
    await mounting.catch(() => undefined);
  }
  await mounting;
  await step('write container config.json', () => writeFile(join(dir, 'config.json'), JSON.stringify(spec), { mode: 0o600 }));
  if (rec.logPath) await mkdir(dirname(rec.logPath), { recursive: true });
  undo.push('forget conmon files', () => forgetMonitorFilesAfter(rc, rec.id, join(dir, 'conmon.pid'))); // runs after the delete
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
    startTimeOrUnknown(d.namespaces, pid),
    startTimeOrUnknown(d.namespaces, conmonPid),
    currentBootId(d.namespaces),
  ]);
  await step('container record (pid)', () => store.updateContainer(rec.id, (r) => {
    r.pid = pid;
    r.pidStartTime = pidStartTime;
    r.conmonPid = conmonPid;
    r.conmonStartTime = conmonStartTime;
    r.bootId = bootId;
    r.stopSignal = rec.stopSignal;
    r.user = rec.user;
  }));
  publishEvent(d, 'CONTAINER_CREATED_EVENT', rec.id, rec.sandboxId);
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

export const createContainerRpc = (verbs: { createContainer: (sandboxId: string, config: ContainerConfig__Output | null, sandboxConfig: PodSandboxConfig__Output | null) => Promise<string> }): UnaryImpl<'CreateContainer'> => async (req) => {
  if (!req.pod_sandbox_id) throw invalidArgument('pod_sandbox_id is required');
  return { container_id: await verbs.createContainer(req.pod_sandbox_id, req.config, req.sandbox_config) };
};
