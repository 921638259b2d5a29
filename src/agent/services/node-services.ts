/**
 * Services on a node: the scheduler's `services` messages go into one cache, which drives the
 * service proxy (nft rules, through a serialized coalescing sync loop) and the DNS server's view.
 * The DNS server listens on the cluster DNS address, put on `lo` of the node's network namespace
 * (kept across agent restarts, removed by {@link cleanupNodeServices} when the node stops for good),
 * in the node DNS process (agent/dns/dns-process.ts) the agent starts or re-attaches to and feeds:
 * it outlives agent restarts, so they are no DNS outage.
 * A deleted pod that is an endpoint is held before its containers are told to stop until its
 * endpoint has left this node's rules, plus a short delay for the other nodes' proxies.
 */
import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { failedPrecondition, invalidArgument, messageOf, type Logger } from '../../lib/index.js';
import type { ServicesMessage } from '../../api/index.js';
import { DEFAULT_PROXY_TABLE, NftProxy, normalizeIPv4Cidr, validateProxyTable, type ProxyTable } from '../proxy/index.js';
import { DnsProcessLink, MemoryServiceView, stopDnsProcess, type ServiceViewWriter } from '../dns/index.js';
import { ServiceCache } from './service-cache.js';
import { applyToDnsView, proxyState, type NodeNetwork } from './derive.js';
import { ProxySyncLoop, type ProxyApplier } from './proxy-loop.js';
import { ensureLoopbackAddress, flushServiceConntrack, removeLoopbackAddress, tableServiceAddresses } from './host-network.js';

export const SERVICES_DEFAULTS = {
  clusterDNS: '10.96.0.10',
  clusterDomain: 'cluster.local',
  resolvConf: '/etc/resolv.conf',
  /** As the scheduler's default --cluster-cidr. */
  clusterCIDR: '10.244.0.0/16',
  proxyTable: DEFAULT_PROXY_TABLE.name,
} as const;

/**
 * How long a deleted endpoint pod is held after this node's rules dropped it, before its preStop
 * and SIGTERM: the other nodes get the same update at the same moment and apply it in one nft run
 * (tens of ms; seconds only for a full sync of a large table on a busy host).
 */
export const ENDPOINT_PROPAGATION_MS = 1_000;
/** The whole hold never takes more than this, nor more than half of the time left to the pod's deadline. */
export const MAX_ENDPOINT_HOLD_MS = 5_000;

/** The agent's Services and DNS settings (flags). */
export interface ServicesConfig {
  /** The cluster DNS address (the pods' nameserver, the node DNS server's address); '' disables cluster DNS. */
  readonly clusterDNS: string;
  readonly clusterDomain: string;
  /** The node's resolv.conf (the kubelet's --resolv-conf): pods with dnsPolicy Default; '' for none. */
  readonly resolvConf: string;
  /**
   * The cluster's pod CIDR: ClusterIP traffic from outside it is masqueraded, and the node DNS answers
   * it. '' (the flag's default): the scheduler's, told with its snapshot ({@link SERVICES_DEFAULTS}'s
   * until then).
   */
  readonly clusterCIDR: string;
  /** The nft table (family inet). */
  readonly proxyTable: string;
}

/** Checks the flags, naming each. */
export function validateServicesConfig(c: ServicesConfig): ServicesConfig {
  if (c.clusterDNS !== '' && !isIPv4(c.clusterDNS)) throw invalidArgument(`--cluster-dns must be an IPv4 address (or "" to disable cluster DNS), got ${JSON.stringify(c.clusterDNS)}`);
  if (c.clusterDomain !== '' && !/^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/.test(c.clusterDomain)) {
    throw invalidArgument(`--cluster-domain must be a lower-case DNS name such as cluster.local, got ${JSON.stringify(c.clusterDomain)}`);
  }
  const clusterCIDR = c.clusterCIDR === '' ? '' : normalizeIPv4Cidr('--cluster-cidr', c.clusterCIDR);
  validateProxyTable({ family: 'inet', name: c.proxyTable });
  return { ...c, clusterCIDR };
}

export interface NodeServicesOptions {
  config: ServicesConfig;
  /** The node's InternalIP: NodePorts answer on it (and on the node's other non-loopback IPv4 addresses). */
  hostIP: string;
  logger: Logger;
  /** The node DNS process's folder (socket, pidfile, log): the agent's ROOT/dns. */
  dnsDir?: string;
  /** The DNS process's log level. */
  logLevel?: string;
  /** Tests: a fake proxy, no DNS address/server, other delays. */
  applier?: ProxyApplier;
  dnsServer?: boolean;
  propagationMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Each sync's duration in seconds; failed: refused (metrics). */
  onSync?: (seconds: number, failed: boolean) => void;
  /** The cache dropped a batch: get a new snapshot (the agent reconnects to the scheduler). */
  resync?: () => void;
}

export class NodeServices {
  readonly cache = new ServiceCache();
  readonly view = new MemoryServiceView();
  readonly loop: ProxySyncLoop;
  private dns: DnsProcessLink | undefined;
  /** The cluster CIDR the scheduler told (its snapshot), and this node's pod CIDR. */
  private schedulerClusterCIDR: string | undefined;
  private podCIDR: string | undefined;
  /** Writes go to the agent's view (the snapshot source) and to the DNS process. */
  private readonly writer: ServiceViewWriter;
  private batchWaiters = new Set<() => void>();
  private readonly table: ProxyTable;

  constructor(private readonly opts: NodeServicesOptions) {
    this.table = { family: 'inet', name: opts.config.proxyTable };
    this.writer = {
      setService: (spec) => {
        this.view.setService(spec);
        this.dns?.setService(spec);
      },
      deleteService: (ns, name) => {
        this.view.deleteService(ns, name);
        this.dns?.deleteService(ns, name);
      },
      setEndpointSlice: (ns, service, slice, endpoints) => {
        this.view.setEndpointSlice(ns, service, slice, endpoints);
        this.dns?.setEndpointSlice(ns, service, slice, endpoints);
      },
      deleteEndpointSlice: (ns, slice) => {
        this.view.deleteEndpointSlice(ns, slice);
        this.dns?.deleteEndpointSlice(ns, slice);
      },
    };
    const applier = opts.applier ?? new NftProxy({ table: this.table, logger: opts.logger });
    this.loop = new ProxySyncLoop({
      applier,
      snapshot: () => ({ state: proxyState(this.cache.allServices(), this.cache.allSlices(), this.network()), generation: this.cache.generation }),
      logger: opts.logger,
      onSynced: (_g, ms) => opts.onSync?.(ms / 1000, false),
      onFailed: (ms) => opts.onSync?.(ms / 1000, true),
    });
  }

  /** The flag's cluster CIDR, else the scheduler's, else the default. */
  private clusterCIDR(): string {
    return this.opts.config.clusterCIDR || this.schedulerClusterCIDR || SERVICES_DEFAULTS.clusterCIDR;
  }

  /**
   * This node's pod CIDR (from the scheduler): its pods' DNS queries are answered even when it lies
   * outside the cluster CIDR the agent knows (a pod started before the scheduler told it).
   */
  setPodCidr(cidr: string): void {
    if (cidr === this.podCIDR) return;
    this.podCIDR = cidr;
    this.dns?.sendAllow();
  }

  /** The addresses NodePorts answer on: the InternalIP and every other non-loopback IPv4 address of the node. */
  private network(): NodeNetwork {
    const addrs = new Set([this.opts.hostIP]);
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal && a.address !== this.opts.config.clusterDNS) addrs.add(a.address);
    }
    return { nodeAddresses: [...addrs].filter((a) => isIPv4(a) && a !== '127.0.0.1').sort(), clusterCIDR: this.clusterCIDR(), ...(this.opts.config.clusterDNS ? { clusterDNS: this.opts.config.clusterDNS } : {}) };
  }

  /**
   * Puts the cluster DNS address on lo (when missing) and attaches to the node DNS process serving it
   * on port 53 UDP and TCP, starting one when none runs (or replacing one of another build/settings).
   * With cluster DNS disabled, a DNS process left from an earlier configuration is stopped.
   */
  async start(): Promise<void> {
    const { clusterDNS, clusterDomain, resolvConf } = this.opts.config;
    if (this.opts.dnsServer === false || this.opts.dnsDir === undefined) return;
    if (clusterDNS === '') {
      await stopDnsProcess(this.opts.dnsDir, this.opts.logger);
      return;
    }
    if (await ensureLoopbackAddress(clusterDNS)) this.opts.logger.info({ address: `${clusterDNS}/32` }, 'cluster DNS address added to lo');
    const link = new DnsProcessLink({
      settings: {
        host: clusterDNS,
        port: 53,
        clusterDomain: clusterDomain || SERVICES_DEFAULTS.clusterDomain,
        // the node's resolvers; with --resolv-conf "" (pods get none), the host's own
        resolvConf: resolvConf || SERVICES_DEFAULTS.resolvConf,
      },
      dir: this.opts.dnsDir,
      view: this.view,
      // pods, and the node's own addresses (hostNetwork pods); the DNS process adds whatever its netns holds
      allow: () => [this.clusterCIDR(), ...(this.podCIDR ? [this.podCIDR] : []), ...this.network().nodeAddresses.map((a) => `${a}/32`)],
      logger: this.opts.logger.child({ component: 'dns' }),
      logLevel: this.opts.logLevel,
    });
    try {
      await link.start();
      this.dns = link;
    } catch (err) {
      throw failedPrecondition(`cannot serve cluster DNS on ${clusterDNS}:53 (another DNS server bound to 0.0.0.0:53?): ${messageOf(err)}; free the port, pick another --cluster-dns, or disable cluster DNS with --cluster-dns ""`);
    }
  }

  /** The scheduler link's `services` messages. */
  onServices(message: ServicesMessage): void {
    let batch;
    try {
      batch = this.cache.receive(message);
    } catch (err) {
      this.opts.logger.warn({ err: messageOf(err) }, 'services: message dropped; asking the scheduler for a new snapshot');
      this.opts.resync?.();
      return;
    }
    if (message.clusterCIDR && message.clusterCIDR !== this.schedulerClusterCIDR) {
      this.schedulerClusterCIDR = message.clusterCIDR;
      if (!this.opts.config.clusterCIDR) {
        this.opts.logger.info({ clusterCIDR: message.clusterCIDR }, "the scheduler's cluster CIDR: pod sources of Service traffic and DNS queries");
        this.dns?.sendAllow();
        this.loop.request();
      } else if (this.opts.config.clusterCIDR !== message.clusterCIDR) {
        this.opts.logger.warn({ flag: this.opts.config.clusterCIDR, scheduler: message.clusterCIDR }, "--cluster-cidr differs from the scheduler's: pods outside it are masqueraded and refused by the node DNS");
      }
    }
    if (!batch) return;
    try {
      applyToDnsView(this.writer, batch.changes);
      // the first snapshot from the scheduler: the DNS process swaps to this view (until now it kept
      // answering from what the previous agent gave it)
      if (batch.reset) this.dns?.markSynced();
    } finally {
      // the cache has the batch: the rules follow it and the holds see it, whatever the DNS side did
      this.loop.request();
      const w = [...this.batchWaiters];
      for (const wake of w) wake();
    }
  }

  /** The link dropped: a batch waiting for its last message will never get it (a new snapshot follows). */
  onDisconnect(): void {
    this.cache.dropPending();
  }

  /**
   * Holds the termination of pod `uid` while it is an endpoint taking connections: until a slice
   * update marking it terminating (or removing it) is applied by this node's rules, then
   * {@link ENDPOINT_PROPAGATION_MS} for the other nodes; never past untilMs. Returns what happened
   * (for logs and tests).
   */
  async holdForEndpointRemoval(uid: string, untilMs: number): Promise<'not-an-endpoint' | 'removed' | 'timeout'> {
    if (!this.cache.isActiveEndpoint(uid)) return 'not-an-endpoint';
    const sleep = this.opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref()));
    while (this.cache.isActiveEndpoint(uid)) {
      const left = untilMs - Date.now();
      if (left <= 0) return 'timeout';
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.batchWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        timer.unref();
        this.batchWaiters.add(done);
      });
    }
    if (!(await this.loop.waitForGeneration(this.cache.generation, untilMs))) return 'timeout';
    const delay = Math.min(this.opts.propagationMs ?? ENDPOINT_PROPAGATION_MS, untilMs - Date.now());
    if (delay > 0) await sleep(delay);
    return 'removed';
  }

  /** The agent stops (a restart follows, or not): the rules, the DNS address and the DNS process stay. */
  async stop(): Promise<void> {
    await this.loop.stop();
    await this.dns?.close();
    this.dns = undefined;
    for (const wake of [...this.batchWaiters]) wake();
  }
}

/**
 * The node stops for good (`corelet agent --cleanup`, `cluster.sh down`): removes the proxy's nft
 * table, the conntrack entries of its cluster IPs and node ports (and of the DNS address), and the
 * cluster DNS address from lo. Each step is tried; the errors are returned.
 */
export async function cleanupNodeServices(config: Pick<ServicesConfig, 'clusterDNS' | 'proxyTable'>, logger: Logger, dnsDir?: string): Promise<string[]> {
  const errors: string[] = [];
  const table: ProxyTable = { family: 'inet', name: config.proxyTable };
  const step = async (what: string, f: () => Promise<unknown>) => {
    try {
      await f();
    } catch (err) {
      errors.push(`${what}: ${messageOf(err)}`);
      logger.warn({ err: messageOf(err) }, `cleanup: ${what} failed`);
    }
  };
  if (dnsDir !== undefined) await step('stopping the node DNS process', () => stopDnsProcess(dnsDir, logger));
  let addrs: ReturnType<typeof tableServiceAddresses> = { clusterIPs: [], nodePorts: [] };
  const proxy = new NftProxy({ table, conntrack: null, logger });
  await step(`listing table ${table.family} ${table.name}`, async () => {
    addrs = tableServiceAddresses(await proxy.readTable());
  });
  await step(`deleting table ${table.family} ${table.name}`, () => proxy.deleteTable());
  await proxy.close();
  if (config.clusterDNS !== '') addrs.clusterIPs.push(config.clusterDNS);
  await step('deleting conntrack entries', () => flushServiceConntrack(addrs));
  if (config.clusterDNS !== '') await step(`removing ${config.clusterDNS}/32 from lo`, () => removeLoopbackAddress(config.clusterDNS));
  logger.info({ table: `${table.family} ${table.name}`, clusterIPs: addrs.clusterIPs.length, nodePorts: addrs.nodePorts.length, dns: config.clusterDNS || undefined }, 'services cleanup done');
  return errors;
}
