import { copyFile, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { createCriServer, listenUnix, type CriImpl } from '../cri/index.js';
import { type Logger, lockRoot, type RootLock, ensurePrivateDir } from '../lib/index.js';
import { runningPodsCgroupDriver, type RuntimeConfig } from './config.js';
import { StateStore } from './store/index.js';
import { loadRegistriesConfig } from './image/index.js';
import { pullImageStreaming } from './image-pull.js';
import { importImageArchive, runtimeImageStore } from './image-import.js';
import { NetworkManager } from './network/index.js';
import { Conmon, OciRuntime, ConmonStreamingBackend } from './oci/index.js';
import { Cgroups, detectCgroupMode, hostMounts, SystemdUnits, checkSystemdBooted } from '../host/index.js';
import { hostNamespacesWith } from './sandbox/namespace-pins.js';
import { HostHelper, helperMounts } from './host-helper.js';
import { EventBus } from './events.js';
import { readHostFacts } from './host-facts.js';
import { exitDir, socketDir, type LifecycleDeps } from './lifecycle.js';
import { StreamingServer } from '../streaming/index.js';
import { SandboxManager } from './sandbox/sandbox-manager.js';
import { recoverSandboxes } from './sandbox/sandbox-recover.js';
import { ContainerManager } from './container/container-manager.js';
import { mountsImage } from './container/image-volumes.js';
import { lifecycleVerbs } from './lifecycle-verbs.js';
import type { RuntimeContext } from './runtime-context.js';
import { criImpl } from './cri-impl.js';
import { checkRuntimeAssets } from './assets.js';

/** A running `corelet runtime`: the CRI server and the state behind it. */
export interface RuntimeDaemon {
  readonly context: RuntimeContext;
  readonly server: grpc.Server;
  /** Stops serving; containers and their monitors keep running (they do not belong to us). */
  close(): Promise<void>;
}

/**
 * Copies the built-in pause binary under the runtime's root (runc creates mount points inside the
 * rootfs it is given, so it must be ours to write) when missing or changed.
 */
async function installPause(source: string, root: string): Promise<string> {
  const target = join(root, 'pause');
  const src = join(source, 'rootfs', 'pause');
  const dst = join(target, 'rootfs', 'pause');
  const [s, d] = await Promise.all([stat(src), stat(dst).catch(() => undefined)]);
  if (!d || d.size !== s.size || d.mtimeMs < s.mtimeMs) {
    await mkdir(join(target, 'rootfs'), { recursive: true });
    await copyFile(src, dst);
  }
  return target;
}

/** Builds every component from the compiled config, recovers state, and serves CRI on the socket. */
export async function startRuntime(config: RuntimeConfig, logger: Logger, version: string): Promise<RuntimeDaemon> {
  // An incomplete installation fails before it creates anything (not even the lock).
  checkRuntimeAssets(config);
  // Before anything else: a second daemon on this root (or state) must not touch it (see lockRoot).
  const rootLock = lockRoot(config.root, 'corelet runtime');
  let lock: RootLock = rootLock;
  try {
    if (resolve(config.state) !== resolve(config.root)) {
      const stateLock = lockRoot(config.state, 'corelet runtime');
      lock = { path: rootLock.path, release: () => (stateLock.release(), rootLock.release()) };
    }
    return await startRuntimeLocked(config, logger, version, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function startRuntimeLocked(config: RuntimeConfig, logger: Logger, version: string, lock: RootLock): Promise<RuntimeDaemon> {
  // 0700, existing installs included: records hold env values, rootfs trees setuid binaries.
  await Promise.all([ensurePrivateDir(config.root), ensurePrivateDir(config.state)]);
  const pauseRootfs = await installPause(config.pauseRootfs, config.root);
  const cgroupMode = await detectCgroupMode(config.cgroupRoot);
  const cgroups = new Cgroups({ root: config.cgroupRoot, mode: cgroupMode });
  const registries = await loadRegistriesConfig(config.registriesFile);
  const store = new StateStore(config.root, logger);
  await store.load();
  // an image whose rootfs is a container's overlay lowerdir or the source of its image volume must stay
  const images = runtimeImageStore(config, registries, logger.child({ component: 'images' }), (id) =>
    store.listContainers().some((c) => c.imageId === id || mountsImage(c.config, id)),
  );
  // mount, umount and the pods' namespaces through one corelet-io process (host-helper.ts)
  // (one that cannot run is left out: every path then spawns its program, as without it)
  const hostHelper = await HostHelper.started(join(config.helperDir, 'corelet-io'), logger.child({ component: 'host-helper' }));
  const network = new NetworkManager({
    hostHelper,
    confDir: config.cni.confDir,
    binDirs: [...config.cni.binDirs],
    cacheDir: join(config.root, 'cni', 'results'),
    netnsDir: config.netnsDir,
    defaultSubnet: config.cni.podSubnet,
    bridgeName: config.cni.bridge,
    ipamDataDir: join(config.root, 'cni', 'networks'),
    logger: logger.child({ component: 'network' }),
  });
  await Promise.all([images.init(), network.init()]);
  const runtimeRoot = join(config.state, config.ociRuntime.name);
  const systemdCgroup = config.cgroupDriver === 'systemd';
  if (systemdCgroup) checkSystemdBooted('corelet runtime');
  warnCgroupDriverChange(config, logger);
  // update's and exec's files (runc/crun read them by path): in STATE, emptied at each start, so a
  // daemon killed between writing and removing one leaves nothing behind for good.
  const ociTmp = join(config.state, 'oci-tmp');
  await rm(ociTmp, { recursive: true, force: true });
  await mkdir(ociTmp, { recursive: true, mode: 0o700 });
  const oci = new OciRuntime({ binary: config.ociRuntime.path, root: runtimeRoot, logger: logger.child({ component: 'oci' }), systemdCgroup, tmpDir: ociTmp, fifoDir: join(config.state, 'exec-sync-fifos'), helper: hostHelper });
  const monitor = new Conmon({ conmonPath: config.conmonPath, runtimePath: config.ociRuntime.path, runtimeRoot, logger: logger.child({ component: 'conmon' }), systemdCgroup });
  const deps: LifecycleDeps = {
    config: { ...config, pauseRootfs },
    store,
    oci,
    monitor,
    network,
    cgroups,
    units: systemdCgroup ? new SystemdUnits({ cgroupRoot: config.cgroupRoot, logger: logger.child({ component: 'systemd' }) }) : undefined,
    mounts: hostHelper ? helperMounts(hostHelper) : hostMounts,
    namespaces: hostNamespacesWith(hostHelper),
    images,
    logger,
    host: await readHostFacts(config.cgroupRoot, cgroupMode),
    events: new EventBus(),
    hostResolvConf: await readFile('/etc/resolv.conf', 'utf8').catch(() => ''),
  };
  const sandboxes = new SandboxManager(deps);
  const containers = new ContainerManager(deps, sandboxes);
  const verbs = lifecycleVerbs(deps, sandboxes, containers);
  await recoverSandboxes({ ...deps, sandboxes });
  await containers.start();
  const backend = new ConmonStreamingBackend({
    store,
    exitDir: exitDir(deps.config),
    socketDir: socketDir(deps.config),
    execDir: join(config.state, 'exec'),
    conmonPath: config.conmonPath,
    runtimePath: config.ociRuntime.path,
    runtimeRoot,
    ioHelperPath: join(config.helperDir, 'corelet-io'),
    logger: logger.child({ component: 'streaming' }),
  });
  const streaming = new StreamingServer({
    address: config.streaming.address,
    port: config.streaming.port,
    tls: config.streaming.tls,
    backend,
    logger: logger.child({ component: 'streaming' }),
  });
  await streaming.start();
  const context: RuntimeContext = { deps, sandboxes, containers, verbs, images, cgroups, network, streaming, version };
  const impl: CriImpl = criImpl(context);
  const server = createCriServer(impl, logger.child({ component: 'cri' }), {
    ImportImage: async (req) => ({ images: await importImageArchive(images, req.path) }),
    PullImage: (req, write, signal) => pullImageStreaming(images, req.image, write, signal),
  });
  await listenUnix(server, config.socket);
  logger.info({ socket: config.socket, streaming: streaming.url(), root: config.root, runtime: config.ociRuntime.path, runtimeChosenBy: config.ociRuntime.chosenBy, cgroups: cgroupMode, cgroupDriver: config.cgroupDriver ?? 'cgroupfs', cgroupDriverChosenBy: config.cgroupDriverChosenBy }, 'corelet runtime serving CRI');
  return {
    context,
    server,
    async close() {
      await containers.stopWatching();
      await streaming.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      hostHelper?.close();
      lock.release();
    },
  };
}

/**
 * A driver named by flag or file that differs from the one of the pods still running from an
 * earlier start is served as asked, with a warning: those pods' cgroups are the other driver's.
 */
function warnCgroupDriverChange(config: RuntimeConfig, logger: Logger): void {
  const driver = config.cgroupDriver ?? 'cgroupfs';
  const running = runningPodsCgroupDriver(config.root, config.state);
  if (running !== undefined && running !== driver) {
    logger.warn({ cgroupDriver: driver, chosenBy: config.cgroupDriverChosenBy, running }, `pods of an earlier start run under the ${running} cgroup driver; this start uses ${driver} (remove those pods first, or start with --cgroup-driver ${running})`);
  }
}
