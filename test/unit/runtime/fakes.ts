/** In-memory stand-ins for the host adapters, recording what the lifecycle did to the "host". */
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { StateStore } from '../../../src/runtime/store/index.js';
import { silentLogger } from '../../../src/lib/logger.js';
import type { LifecycleDeps } from '../../../src/runtime/lifecycle.js';
import type { RuntimeConfig } from '../../../src/runtime/config.js';
import type { CgroupPort, MonitorPort, NetworkPort, OciRuntimePort, PodNetworkArgs } from '../../../src/runtime/ports.js';
import type { MountPort } from '../../../src/host/index.js';
import type { NamespacePort } from '../../../src/runtime/sandbox/namespace-pins.js';
import type { ImagePort } from '../../../src/runtime/lifecycle.js';
import { internal } from '../../../src/lib/errors.js';
import { EventBus } from '../../../src/runtime/events.js';
import { SandboxManager } from '../../../src/runtime/sandbox/sandbox-manager.js';
import { ContainerManager, type ContainerManagerOptions } from '../../../src/runtime/container/container-manager.js';
import { lifecycleVerbs } from '../../../src/runtime/lifecycle-verbs.js';
import type { ContainerConfig__Output, PodSandboxConfig__Output } from '../../../src/cri/types.js';
import type { TestContext } from 'node:test';
import { rm } from 'node:fs/promises';

export interface FakeHost {
  netns: Set<string>;
  ips: Map<string, string>;
  mounts: Set<string>;
  containers: Map<string, 'created' | 'running' | 'stopped'>;
  fail: { cniAdd?: boolean; monitorCreate?: boolean; ociStart?: boolean };
  /** How a container answers its stop signal: an exit code, or 'ignore' (then only SIGKILL ends it). */
  onStopSignal: Map<string, number | 'ignore'>;
  /** Every signal sent, as `id:signal`. */
  signals: string[];
  /** Units stopped through systemd (the systemd cgroup driver). */
  stoppedUnits: string[];
}

export async function fakeDeps(overrides: Partial<RuntimeConfig> = {}): Promise<{ deps: LifecycleDeps; host: FakeHost; root: string; pinned: Map<string, string[]> }> {
  const root = await mkdtemp(join(tmpdir(), 'corelet-lifecycle-'));
  const host: FakeHost = { netns: new Set(), ips: new Map(), mounts: new Set(), containers: new Map(), fail: {}, onStopSignal: new Map(), signals: [], stoppedUnits: [] };
  let nextIp = 2;
  const pinned = new Map<string, string[]>();
  const network: NetworkPort = {
    async createNetns(name, pins) {
      host.netns.add(name);
      const made = Object.entries(pins ?? {}).filter(([, path]) => path);
      if (made.length) pinned.set(dirname(made[0]![1]!), made.map(([type]) => type));
      return `/run/netns/${name}`;
    },
    async removeNetns(path) {
      host.netns.delete(path.split('/').pop()!);
    },
    async setUp(args: PodNetworkArgs) {
      if (host.fail.cniAdd) throw internal('plugin bridge failed: no space');
      const ip = `10.0.0.${nextIp++}`;
      host.ips.set(args.sandboxId, ip);
      return { ip, additionalIps: [] };
    },
    async tearDown(args) {
      host.ips.delete(args.sandboxId);
    },
    status: () => ({ ready: true, reason: '', message: '' }),
  };
  const oci: OciRuntimePort = {
    async state(id) {
      const s = host.containers.get(id);
      return s ? { status: s, pid: 100 } : undefined;
    },
    async start(id) {
      if (host.fail.ociStart) throw internal('runc start failed');
      host.containers.set(id, 'running');
    },
    // Like conmon: the container's end shows up as an exit file holding its code.
    async kill(id, signal) {
      if (!host.containers.has(id)) return;
      host.signals.push(`${id}:${signal}`);
      const killed = signal === 'KILL' || signal === 9;
      const answer = host.onStopSignal.get(id) ?? 143;
      if (!killed && answer === 'ignore') return;
      host.containers.set(id, 'stopped');
      await mkdir(join(root, 'run', 'exits'), { recursive: true });
      await writeFile(join(root, 'run', 'exits', id), String(killed ? 137 : answer));
    },
    async delete(id) {
      host.containers.delete(id);
    },
    async update() {},
    async exec() {
      return { exitCode: 0, stdout: Buffer.from(''), stderr: Buffer.from(''), timedOut: false };
    },
  };
  const monitor: MonitorPort = {
    async create(opts) {
      if (host.fail.monitorCreate) throw internal('conmon: runc create failed: bad spec');
      host.containers.set(opts.id, 'created');
      return { pid: 100, conmonPid: 99 };
    },
  };
  const cgroups: CgroupPort = {
    async stats() {
      return undefined;
    },
    async exists() {
      return false;
    },
    async removeIfEmpty() {
      return { busy: [] };
    },
  };
  const mounts: MountPort = {
    async overlay(_l, _u, _w, target) {
      host.mounts.add(target);
    },
    async tmpfs(target) {
      await mkdir(target, { recursive: true });
      host.mounts.add(target);
    },
    async unmount(target) {
      host.mounts.delete(target);
    },
  };
  const namespaces: NamespacePort = {
    async pin(_pid, types, dir) {
      pinned.set(dir, [...types]);
      return Object.fromEntries(types.map((t) => [t, join(dir, t)]));
    },
    async unpin(dir) {
      pinned.delete(dir);
    },
    async listPinDirs() {
      return [...pinned.keys()].map((d) => d.split('/').pop()!);
    },
    // Every fake process is pid 100, started at tick 1.
    async startTime() {
      return '1';
    },
    async bootId() {
      return 'boot-1';
    },
  };
  const imageRoot = join(root, 'image-rootfs');
  await mkdir(join(imageRoot, 'etc'), { recursive: true });
  await writeFile(join(imageRoot, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  const images: ImagePort & { held: Map<string, number> } = {
    get: (ref) =>
      ref.includes('busybox')
        ? ({ id: 'sha256:img', repoTags: ['docker.io/library/busybox:latest'], repoDigests: [], size: 1, config: { cmd: ['sh'] }, pinned: false, createdAt: 0 } as never)
        : ref.includes('nginx')
          ? ({ id: 'sha256:nginx', repoTags: ['docker.io/library/nginx:latest'], repoDigests: [], size: 1, config: { cmd: ['nginx'], stopSignal: 'SIGQUIT' }, pinned: false, createdAt: 0 } as never)
          : undefined,
    // image id → holds not released yet
    held: new Map(),
    hold(ref) {
      const image = this.get(ref);
      if (!image) return undefined;
      this.held.set(image.id, (this.held.get(image.id) ?? 0) + 1);
      let released = false;
      return {
        image,
        release: () => {
          if (!released) this.held.set(image.id, this.held.get(image.id)! - 1);
          released = true;
        },
      };
    },
    rootfsPath: () => imageRoot,
  };
  const config: RuntimeConfig = {
    socket: join(root, 'sock'),
    root,
    state: join(root, 'run'),
    ociRuntime: { name: 'runc', path: '/usr/sbin/runc' },
    conmonPath: '/usr/bin/conmon',
    registriesFile: join(root, 'registries.yaml'),
    cni: { confDir: join(root, 'net.d'), binDirs: [], podSubnet: '10.0.0.0/24', bridge: 'x' },
    pauseImage: 'registry.k8s.io/pause:3.10',
    pauseRootfs: join(root, 'pause'),
    cgroupRoot: join(root, 'cgroup'),
    defaultCgroupParent: '/corelet',
    netnsDir: '/run/netns',
    logLevel: 'silent',
    streaming: { address: '127.0.0.1', port: 0 },
    helperDir: join(root, 'bin'),
    ...overrides,
  };
  const store = new StateStore(root, silentLogger);
  await store.load();
  const units = {
    async stopUnit(name: string) {
      host.stoppedUnits.push(name);
    },
  };
  const deps: LifecycleDeps = { config, store, oci, monitor, network, cgroups, units, mounts, namespaces, images, logger: silentLogger, host: { capabilities: [], minOomScoreAdj: 0, cgroupV2: false, swapAvailable: true, hugetlbAvailable: false, apparmorEnabled: false }, events: new EventBus(), hostResolvConf: 'nameserver 1.1.1.1\n' };
  return { deps, host, root, pinned };
}

/** fakeDeps with the sandbox and container managers over them and the verbs, wired as the runtime wires them. */
export async function fakeRuntime(options: ContainerManagerOptions = {}, overrides: Partial<RuntimeConfig> = {}) {
  const fake = await fakeDeps(overrides);
  const sandboxes = new SandboxManager(fake.deps);
  const containers = new ContainerManager(fake.deps, sandboxes, options);
  const verbs = lifecycleVerbs(fake.deps, sandboxes, containers);
  return { ...fake, sandboxes, containers, verbs };
}

/** A RunPodSandbox config for pod default/NAME (uid uid-NAME), without log directory or Linux settings. */
export function fakePodConfig(name: string, labels: Record<string, string> = {}): PodSandboxConfig__Output {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt: 0 },
    hostname: name,
    log_directory: '',
    dns_config: null,
    port_mappings: [],
    labels,
    annotations: {},
    linux: null,
    windows: null,
  };
}

/** A CreateContainer config for container NAME running `sleep 60` in busybox, without log path or Linux settings. */
export function fakeContainerConfig(name: string): ContainerConfig__Output {
  return { metadata: { name, attempt: 0 }, image: { image: 'busybox' }, command: ['sleep', '60'], args: [], working_dir: '', envs: [], mounts: [], devices: [], labels: {}, annotations: {}, log_path: '', stdin: false, stdin_once: false, tty: false, linux: null } as unknown as ContainerConfig__Output;
}

/** After the test: stop the container manager's watching and remove the fake's root. */
export function cleanUpAfter(t: TestContext, containers: { stopWatching(): Promise<void> }, root: string): void {
  t.after(async () => {
    await containers.stopWatching();
    await rm(root, { recursive: true, force: true });
  });
}
