/**
 * `corelet agent`: composes the node daemon from its parts: a CRI client to any runtime, QoS
 * cgroups, admission, eviction, volumes, events, the pod manager with its workers, the static pod
 * source, and the local HTTP endpoints.
 */
import { hostname, networkInterfaces } from 'node:os';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_POD_SECURITY_LEVEL, type Container, type Pod, type PodSecurityLevel } from '../api/index.js';
import { createCriClient, type CriClient, grpcMessage } from '../cri/index.js';
import { Backoff, invalidArgument, NODE_PATHS, unixEndpoint, writeFileAtomic, type Logger, lockRoot, type RootLock, ensurePrivateDir, sleepLong, messageOf } from '../lib/index.js';
import { detectCgroupMode, Cgroups, hostMounts, defaultCgroupDriver, checkSystemdBooted, type CgroupDriver } from '../host/index.js';
import { QosCgroupManager, containerResources } from './qos/index.js';
import { TerminationConfirmer } from './pod-termination.js';
import { admit, admitPodSecurity, computeAllocatable, parseResourceList, readNodeCapacity, type NodeResources } from './admission/index.js';
import { EvictionManager, memoryAvailableReader, parseEvictionHard, DEFAULT_EVICTION_HARD } from './eviction/index.js';
import { startDiskManagement, type DiskConfig } from './disk-management.js';
import { AgentMetrics, httpsReview, instrumentCriClient, startAgentHttpServer, STANDALONE_AGENT_HTTP_ADDRESS, SubjectAccessReviewer } from './http/index.js';
import { CertificateRotator, ensureNodeCredentials, makeNodeCsr, pendingNodeCsr, readTokenFile, requestNodeCertificate, saveNodeCredentials, type NodeCredentials, SchedulerLink, SCHEDULER_SOURCE, PodRequests, criContainerLookup, criStreamUrl } from './cluster/index.js';
import { parseServerUrl } from '../join/index.js';
import { ContainerProbes, criProbeDeps, runProbe } from './probes/index.js';
import { EventRecorder } from './events.js';
import { VolumeManager } from './volumes.js';
import { PodManager } from './pod-manager.js';
import { StaticPodSource } from './static-pods.js';
import { IpRouteTable, PodRoutes } from './routes.js';
import type { HandlerRunner, ProbeStarter } from './pod-worker.js';
import { NodeServices, MAX_ENDPOINT_HOLD_MS, SERVICES_DEFAULTS, type ServicesConfig } from './services/index.js';
import { parseResolvConf, type ClusterDnsSettings } from './dns/index.js';

export const AGENT_DEFAULTS = {
  runtimeEndpoint: unixEndpoint(NODE_PATHS.runtimeSocket),
  root: NODE_PATHS.agentRoot,
  logRoot: NODE_PATHS.podLogDir,
  port: 10250,
  /** Joined agents serve HTTPS with client-certificate authentication on every address. */
  address: '0.0.0.0',
  /** Standalone agents (no --server) have no certificates: plain HTTP on loopback only. */
  standaloneAddress: STANDALONE_AGENT_HTTP_ADDRESS,
  cgroupRoot: NODE_PATHS.cgroupRoot,
  qosTop: 'kubepods',
} as const;

/** The agent's options, compiled once from flags. */
export interface AgentConfig {
  readonly runtimeEndpoint: string;
  readonly podManifestPath?: string;
  readonly nodeName: string;
  /** Listen address of the HTTP(S) port; default {@link AGENT_DEFAULTS} address (joined) or standaloneAddress. */
  readonly address?: string;
  readonly port: number;
  readonly root: string;
  readonly logRoot: string;
  readonly systemReserved: string;
  readonly evictionHard: string;
  readonly cgroupRoot: string;
  /** Name of the top-level QoS cgroup (kubepods); tests and side-by-side agents use their own. */
  readonly qosTop: string;
  /**
   * --cgroup-driver; when absent, the runtime's (CRI RuntimeConfig), else {@link defaultCgroupDriver}
   * (see {@link chooseCgroupDriver}).
   */
  readonly cgroupDriver?: CgroupDriver;
  readonly relistMs?: number;
  /**
   * The scheduler to join (wss://HOST:PORT) and its CA hash; tokenFile (0600) holds the bootstrap
   * token, needed only until the node has its certificate in ROOT/pki.
   */
  readonly scheduler?: { server: string; tokenFile?: string; caCertHash: string };
  /** The node's InternalIP (peers route pod traffic to it; the pods' hostIP); default {@link nodeAddress}. */
  readonly nodeIP?: string;
  /** The Pod Security level static pods must meet (default baseline). */
  readonly staticPodSecurity?: PodSecurityLevel;
  /** Container log rotation, image GC (see disk-management.ts); kubelet defaults when left out. */
  readonly disk?: DiskConfig;
  /**
   * Services and cluster DNS (joined agents only): the proxy's nft table, the DNS server on the
   * cluster DNS address, the pods' resolv.conf; {@link SERVICES_DEFAULTS} when left out.
   */
  readonly services?: ServicesConfig;
}

/** How often the routes to other nodes' pod CIDRs are checked and restored. */
const ROUTE_RESYNC_MS = 30_000;

/** The node's first non-internal IPv4 address (the pods' status.hostIP). */
export function nodeAddress(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export function defaultNodeName(): string {
  return hostname().toLowerCase();
}

/** The pods' DNS settings: the cluster DNS address and domain, and the node's resolv.conf read once (the kubelet's --resolv-conf). */
async function clusterDnsSettings(c: ServicesConfig, logger: Logger): Promise<ClusterDnsSettings> {
  let hostResolvConf = null;
  if (c.resolvConf !== '') {
    const text = await readFile(c.resolvConf, 'utf8').catch((err: unknown) => {
      logger.warn({ file: c.resolvConf, err: messageOf(err) }, '--resolv-conf cannot be read: pods with dnsPolicy Default get no nameserver from it');
      return '';
    });
    hostResolvConf = parseResolvConf(text);
  }
  return { clusterDNS: c.clusterDNS ? [c.clusterDNS] : [], clusterDomain: c.clusterDomain, hostResolvConf };
}

/**
 * The cgroup driver, as the kubelet picks it with KubeletCgroupDriverFromCRI: the runtime's answer
 * to RuntimeConfig (linux.cgroup_driver) when --cgroup-driver is not given; a runtime without the
 * rpc (containerd 1.6, Unimplemented) or that cannot answer leaves the flag's default
 * ({@link defaultCgroupDriver}). A flag that disagrees with the runtime is kept, with a warning:
 * the runtime will refuse the pods' cgroup parents.
 */
export async function chooseCgroupDriver(cri: Pick<CriClient, 'runtime'>, config: Pick<AgentConfig, 'cgroupDriver' | 'cgroupRoot'>, logger: Logger): Promise<CgroupDriver> {
  let fromRuntime: CgroupDriver | undefined;
  try {
    const answer = await cri.runtime.RuntimeConfig({}, { deadlineMs: 10_000 });
    const d = answer.linux?.cgroup_driver as unknown;
    if (d === 'SYSTEMD' || d === 0) fromRuntime = 'systemd';
    else if (d === 'CGROUPFS' || d === 1) fromRuntime = 'cgroupfs';
  } catch (err) {
    logger.info({ err: grpcMessage(err) }, 'the runtime does not report its cgroup driver (RuntimeConfig); using --cgroup-driver or its default');
  }
  if (config.cgroupDriver) {
    if (fromRuntime && fromRuntime !== config.cgroupDriver) logger.warn({ flag: config.cgroupDriver, runtime: fromRuntime }, '--cgroup-driver differs from the runtime\'s cgroup driver: the runtime will refuse the pods\' cgroup parents');
    return config.cgroupDriver;
  }
  const driver = fromRuntime ?? defaultCgroupDriver({ cgroupRoot: config.cgroupRoot });
  logger.info({ driver, from: fromRuntime ? 'runtime' : 'default' }, 'cgroup driver');
  return driver;
}

export interface RunningAgent {
  readonly pods: PodManager;
  readonly url: string;
  readonly allocatable: NodeResources;
  readonly events: EventRecorder;
  /** Stops the agent; pods keep running (a restarted agent adopts them). */
  close(): Promise<void>;
}

export async function startAgent(config: AgentConfig, logger: Logger): Promise<RunningAgent> {
  // Before anything else: a second daemon on this root must not touch it (see lockRoot).
  const lock = lockRoot(config.root, 'corelet agent');
  try {
    return await startAgentLocked(config, logger, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function startAgentLocked(config: AgentConfig, logger: Logger, lock: RootLock): Promise<RunningAgent> {
  const metrics = new AgentMetrics({ processMetrics: true });
  const cri: CriClient = instrumentCriClient(createCriClient(config.runtimeEndpoint), metrics);
  // fail early and clearly when the runtime is not there
  const version = await cri.runtime.Version({}, { deadlineMs: 10_000 }).catch((err: unknown) => {
    throw invalidArgument(`cannot reach the CRI runtime at ${config.runtimeEndpoint}: ${grpcMessage(err)}`);
  });
  logger.info({ runtime: `${version.runtime_name} ${version.runtime_version}`, endpoint: config.runtimeEndpoint }, 'connected to the CRI runtime');
  await ensurePrivateDir(config.root); // 0700, also when an older install left it 0755

  const thresholds = parseEvictionHard(config.evictionHard || DEFAULT_EVICTION_HARD);
  const capacity = await readNodeCapacity();
  const allocatable = computeAllocatable({ capacity, systemReserved: parseResourceList(config.systemReserved), evictionHard: thresholds });
  const mode = detectCgroupMode(config.cgroupRoot);
  const cgroupDriver = await chooseCgroupDriver(cri, config, logger);
  if (cgroupDriver === 'systemd') checkSystemdBooted('corelet agent');
  const qos = new QosCgroupManager({ root: config.cgroupRoot, mode, topName: config.qosTop, driver: cgroupDriver, logger: logger.child({ component: 'qos' }) });
  await qos.ensureTopLevel(computeAllocatable({ capacity, systemReserved: parseResourceList(config.systemReserved) }));
  const cgroupStats = new Cgroups({ root: config.cgroupRoot, mode });
  const events = new EventRecorder(config.nodeName);
  const probeDeps = criProbeDeps(cri);
  const hostIP = config.nodeIP ?? nodeAddress();
  // Services and cluster DNS come from the scheduler: a standalone agent has neither.
  const servicesConfig = config.scheduler ? (config.services ?? SERVICES_DEFAULTS) : undefined;
  const nodeServices = servicesConfig && new NodeServices({ config: servicesConfig, hostIP, dnsDir: join(config.root, 'dns'), logLevel: logger.level, logger: logger.child({ component: 'services' }), onSync: (seconds, failed) => metrics.observeRuleSync(seconds, failed), resync: () => link?.reconnect() });
  const dnsSettings = servicesConfig && (await clusterDnsSettings(servicesConfig, logger));

  const startProbes: ProbeStarter = (pod, container, target, onResult) => {
    if (!container.livenessProbe && !container.readinessProbe && !container.startupProbe) return () => undefined;
    const probes = new ContainerProbes({
      container,
      target: { podIP: target.podIP, containerId: target.containerId, ports: container.ports },
      deps: probeDeps,
      startedAt: target.startedAtMs,
      onResult: (type, result, output) => onResult(type, result === 'Success', output),
      logger,
    });
    return () => probes.stop();
  };
  const runHandler: HandlerRunner = async (_pod, container: Container, containerId, podIP, timeoutSeconds) => {
    const h = container.lifecycle?.preStop;
    if (!h) return;
    if (h.sleep) {
      // Both are the user's (sleep.seconds, the grace period): any length, never clamped to 1 ms.
      await sleepLong(Math.min(h.sleep!.seconds, timeoutSeconds) * 1000);
      return;
    }
    const probe = { exec: h.exec, httpGet: h.httpGet, tcpSocket: h.tcpSocket, initialDelaySeconds: 0, timeoutSeconds, periodSeconds: 1, successThreshold: 1, failureThreshold: 1 };
    const r = await runProbe(probe, { podIP, containerId, ports: container.ports }, probeDeps);
    if (r.result !== 'Success') throw new Error(r.output || 'handler failed');
  };

  let pods!: PodManager;
  let link: SchedulerLink | undefined;
  /** Node-pressure eviction (memory and disk managers): the pod ends Failed/Evicted, with an event. */
  const evictPod = async (pod: Pod, message: string): Promise<void> => {
    metrics.eviction();
    events.record(pod, 'Warning', 'Evicted', message);
    pods.failPod(pod.metadata.uid, 'Evicted', message);
  };
  // Log rotation, removed pods' folders, image GC and disk eviction (disk-management.ts).
  const volumes = new VolumeManager(config.root, hostMounts);
  const disk = startDiskManagement({
    cri,
    config: config.disk ?? {},
    thresholds,
    root: config.root,
    logRoot: config.logRoot,
    volumes,
    evict: evictPod,
    isStaticPod: (pod) => pods.isStatic(pod.metadata.uid),
    podCleanedUp: (pod) => pods.podCleanedUp(pod.metadata.uid),
    isKnownPod: (uid) => pods.worker(uid) !== undefined,
    logger,
  });
  let lastCgroupSweep = -Infinity;
  pods = new PodManager({
    logger,
    relistMs: config.relistMs,
    afterRelist: async (isKnown, inRuntime) => {
      await disk.podDirs.sweep(isKnown, inRuntime);
      // pod cgroups of pods removed while the agent was down (their workers' cleanup never ran)
      if (Date.now() - lastCgroupSweep < 10_000) return;
      lastCgroupSweep = Date.now();
      const removed = await qos.removeOrphanPods((uid) => !isKnown(uid) && !inRuntime.has(uid));
      if (removed.length > 0) logger.info({ pods: removed }, 'removed the cgroups of pods no longer on this node');
    },
    admit: (pod: Pod, active: Pod[], source: string) => {
      // Pod Security first: the scheduler's pods by the level it stated, static pods by the flag.
      const level = source === SCHEDULER_SOURCE ? (link?.podSecurityLevel(pod.metadata.uid) ?? DEFAULT_POD_SECURITY_LEVEL) : (config.staticPodSecurity ?? DEFAULT_POD_SECURITY_LEVEL);
      const security = admitPodSecurity(pod, level);
      if (!security.admit) return security;
      const r = admit(pod, active, allocatable);
      return r.admit ? { admit: true } : { admit: false, reason: r.reason, message: r.message };
    },
    ctx: {
      cri,
      nodeName: config.nodeName,
      hostIP,
      logRoot: config.logRoot,
      cgroups: {
        ensurePod: (pod) => qos.ensurePod(pod),
        removePod: (uid) => qos.removePod(uid),
        containerResources: (pod, c) => {
          const r = containerResources(c, pod, capacity.memoryBytes);
          return {
            cpu_shares: r.cpu_shares,
            cpu_quota: r.cpu_quota,
            cpu_period: r.cpu_period,
            memory_limit_in_bytes: r.memory_limit_in_bytes,
            oom_score_adj: r.oom_score_adj,
          };
        },
      },
      volumes,
      removePodLogs: (pod) => disk.podDirs.removePodLogs(pod),
      removeContainerLogs: (id) => disk.logs.clean(id),
      events,
      backoff: new Backoff({ initialMs: 10_000, maxMs: 300_000, resetMs: 600_000 }),
      startProbes,
      runHandler,
      logger: logger.child({ component: 'pods' }),
      onStatus: (pod, status) => {
        link?.podStatus(pod, status);
        const phases: Record<string, number> = {};
        const states: Record<string, number> = { waiting: 0, running: 0, terminated: 0 };
        for (const p of pods.pods()) {
          const phase = p.status?.phase ?? 'Pending';
          phases[phase] = (phases[phase] ?? 0) + 1;
          for (const s of [...(p.status?.containerStatuses ?? []), ...(p.status?.initContainerStatuses ?? [])]) {
            const k = s.state.running ? 'running' : s.state.terminated ? 'terminated' : 'waiting';
            states[k]!++;
          }
        }
        metrics.setPodPhases(phases);
        metrics.setContainerStates(states);
      },
      onRestart: () => metrics.restart(),
      onSync: (s) => metrics.observeSync(s),
      dns: dnsSettings,
      beforeStop: nodeServices
        ? async (pod, untilMs) => {
            // at most MAX_ENDPOINT_HOLD_MS, and never more than half of the time left to the deadline
            const now = Date.now();
            const until = Math.min(now + MAX_ENDPOINT_HOLD_MS, now + (untilMs - now) / 2);
            const outcome = await nodeServices.holdForEndpointRemoval(pod.metadata.uid, until);
            if (outcome !== 'not-an-endpoint') logger.info({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, outcome, heldMs: Date.now() - now }, 'endpoint removal awaited before stopping the pod');
          }
        : undefined,
    },
  });

  const memoryThreshold = thresholds.find((t) => t.signal === 'memory.available');
  const eviction = memoryThreshold && new EvictionManager({
    threshold: memoryThreshold,
    readAvailable: memoryAvailableReader({ root: config.cgroupRoot, mode }),
    podUsage: async (uid) => {
      const pod = pods.worker(uid)?.pod;
      if (!pod) return undefined;
      return (await cgroupStats.stats(qos.podCgroupParent(pod)))?.memoryWorkingSetBytes;
    },
    evict: evictPod,
    isStaticPod: (pod) => pods.isStatic(pod.metadata.uid),
    logger: logger.child({ component: 'eviction' }),
  });

  let staticPods: StaticPodSource | undefined;
  if (config.podManifestPath) {
    pods.expectSource('file');
    await mkdir(config.podManifestPath, { recursive: true });
    staticPods = new StaticPodSource(config.podManifestPath, (list) => pods.setSource('file', list), logger.child({ component: 'static-pods' }));
    await staticPods.start();
  }
  let routes: PodRoutes | undefined;
  let terminations: TerminationConfirmer | undefined;
  // `corelet logs` and `corelet exec`, asked through the scheduler.
  const requests = new PodRequests({
    pod: (uid) => pods.worker(uid)?.pod,
    containers: criContainerLookup(cri),
    nodeName: config.nodeName,
    logRoot: config.logRoot,
    logger: logger.child({ component: 'pod-requests' }),
  });
  let rotator: CertificateRotator | undefined;
  let credentials: NodeCredentials | undefined;
  let http: Awaited<ReturnType<typeof startAgentHttpServer>> | undefined;
  if (config.scheduler) {
    // TLS bootstrap (once) and the certificate every connection to the scheduler uses.
    const sans = { dnsNames: [config.nodeName], ips: [hostIP] };
    const identityLogger = logger.child({ component: 'node-identity' });
    credentials = await ensureNodeCredentials({ ...config.scheduler, nodeName: config.nodeName, root: config.root, sans, logger: identityLogger });
    const address = parseServerUrl(config.scheduler.server);
    pods.expectSource(SCHEDULER_SOURCE);
    // The pod CIDR the scheduler gave this node, asked for again should the scheduler lose its state.
    const podCidrFile = join(config.root, 'pod-cidr');
    const lastPodCidr = (await readFile(podCidrFile, 'utf8').catch(() => '')).trim() || undefined;
    if (lastPodCidr) nodeServices?.setPodCidr(lastPodCidr);
    routes = new PodRoutes({ table: new IpRouteTable(), nodeName: config.nodeName, logger: logger.child({ component: 'routes' }) });
    routes.resyncEvery(ROUTE_RESYNC_MS);
    terminations = new TerminationConfirmer({ hasWorker: (uid) => pods.worker(uid) !== undefined, cri, confirm: (uid) => link?.podTerminated(uid) ?? false, logger });
    link = new SchedulerLink({
      server: config.scheduler.server,
      credentials: () => credentials!,
      nodeName: config.nodeName,
      hostIP,
      // Known before the port listens unless it is 0 (a free one: known once bound, for the next register).
      agentPort: () => (http ? Number(new URL(http.url).port) : config.port || undefined),
      capacity,
      allocatable,
      runtime: { name: version.runtime_name, version: version.runtime_version },
      runningPods: () => pods.pods(),
      setPods: (list) => pods.setSource(SCHEDULER_SOURCE, list),
      events: () => events.list(),
      logger: logger.child({ component: 'scheduler-link' }),
      podCIDR: lastPodCidr,
      // As the kubelet does. corelet runtime rewrites its default CNI config; containerd applies it
      // only with a CNI conf template configured, and other config lists are left to their owners.
      onPodCidr: async (cidr) => {
        await cri.runtime.UpdateRuntimeConfig({ runtime_config: { network_config: { pod_cidr: cidr } } }, { deadlineMs: 30_000 });
        if (cidr !== lastPodCidr) await writeFileAtomic(podCidrFile, `${cidr}\n`);
        nodeServices?.setPodCidr(cidr);
      },
      onPeers: (nodes) => {
        routes!.sync(nodes).catch((err) => logger.warn({ err: messageOf(err) }, 'cannot program the routes to other nodes\' pods'));
      },
      onRequest: (message, peer) => requests.handle(message, peer),
      onUnassigned: (uid) => terminations?.watch(uid),
      onTerminate: (uid, pod, deadlineMs, immediate) => pods.terminatePod(uid, pod, deadlineMs, immediate),
      onDisconnect: () => {
        requests.cancelAll();
        nodeServices?.onDisconnect();
      },
      onServices: nodeServices && ((m) => nodeServices.onServices(m)),
      conditions: () => disk.conditions(),
    });
    await nodeServices?.start();
    try {
      await link.start();
    } catch (err) {
      // The scheduler no longer accepts the stored certificate (the Node was deleted, which revokes
      // it): with a token file, join again, as a new node would (refused while the name is held).
      if (!config.scheduler.tokenFile || !/refused this node \(401\)/.test(messageOf(err))) throw err;
      identityLogger.warn({ err: messageOf(err) }, 'the stored node certificate was refused: joining again with the token file');
      credentials = await ensureNodeCredentials({ ...config.scheduler, nodeName: config.nodeName, root: config.root, sans, logger: identityLogger, rejoin: true });
      await link.start();
    }
    const tokenFile = config.scheduler.tokenFile;
    rotator = new CertificateRotator({
      current: credentials,
      nodeName: config.nodeName,
      sans,
      renew: (csrPem, current) => requestNodeCertificate(address, current.caPem, { certPem: current.certPem, keyPem: current.keyPem }, csrPem),
      rebootstrap: tokenFile ? async (csrPem) => requestNodeCertificate(address, credentials!.caPem, { token: await readTokenFile(tokenFile) }, csrPem) : undefined,
      save: (creds) => saveNodeCredentials(config.root, creds),
      // The request under way survives a restart: a retry after a lost answer needs its key.
      makeCsr: (name, s) => pendingNodeCsr(config.root, name, s ?? {}, makeNodeCsr, identityLogger),
      onRotated: (creds) => {
        credentials = creds;
        http?.setCredentials(creds);
        link?.reconnect();
      },
      logger: identityLogger,
    });
    rotator.start();
  }
  pods.startRelist();
  eviction?.start(() => pods.activePods());
  disk.start(() => pods.activePods());
  const schedulerUrl = config.scheduler && `https://${config.scheduler.server.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '')}`;
  const reviewer = schedulerUrl ? new SubjectAccessReviewer(httpsReview(schedulerUrl, () => credentials!)) : undefined;
  http = await startAgentHttpServer({
    address: config.address ?? (config.scheduler ? AGENT_DEFAULTS.address : AGENT_DEFAULTS.standaloneAddress),
    port: config.port,
    pods: () => pods.pods(),
    events: () => events.list(),
    metrics,
    logger,
    tls: credentials && reviewer ? { ...credentials, nodeName: config.nodeName, authorize: (user, attrs) => reviewer.check(user, attrs) } : undefined,
    // Only behind TLS (the scheduler's exec, attach and port-forward): never unauthenticated.
    ...(credentials ? { streamUrl: criStreamUrl({ pods: () => pods.pods(), cri, nodeName: config.nodeName }) } : {}),
  });
  if (!config.scheduler) logger.info({ url: http.url }, 'standalone: /healthz, /pods, /events and /metrics are served without authentication (plain HTTP); keep --address on loopback');
  logger.info({ node: config.nodeName, http: http.url, allocatable, manifests: config.podManifestPath }, 'corelet agent running');

  return {
    pods,
    url: http.url,
    allocatable,
    events,
    async close() {
      staticPods?.stop();
      rotator?.stop();
      link?.close();
      terminations?.close();
      requests.cancelAll();
      // Routes stay, like the pods: traffic to other nodes keeps flowing while the agent restarts.
      routes?.stop();
      // So do the service rules and the DNS address (cleanupNodeServices removes them for good).
      await nodeServices?.stop();
      pods.stop();
      await eviction?.stop();
      await disk.stop();
      await http!.close();
      cri.close();
      lock.release();
    },
  };
}

