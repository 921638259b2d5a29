/**
 * Pod networking for the runtime: network namespaces plus a CNI config list run through our own
 * executor, with each attachment cached so teardown is exact and idempotent.
 */
import { isAbsolute, join } from 'node:path';
import { mkdir, readdir } from 'node:fs/promises';
import {
  errnoCode,
  failedPrecondition,
  internal,
  invalidArgument,
  KeyedMutex,
  NODE_PATHS,
  silentLogger,
  wrap,
  writeJsonAtomic,
  type Logger,
} from '../../lib/index.js';
import {
  checkCidr,
  checkInterfaceName,
  configFileNames,
  DEFAULT_CONFIG_FILE,
  defaultNetworkConfig,
  loadNetworkConfig,
  type LoadedNetworkConfig,
} from './cni-config.js';
import { CniResultCache, type CniCacheEntry } from './cni-cache.js';
import { CniExecutor } from './cni-exec.js';
import {
  buildCniArgs,
  checkContainerId,
  parseCniResult,
  podIps,
  POD_IFNAME,
  runtimeConfigFor,
  type CniRuntimeArgs,
} from './cni-protocol.js';
import { ipMasqComment, leaksIpMasqWithoutNetns, removeIpMasqChain } from './ipmasq-cleanup.js';
import { createNetns, isNetworkNamespace, removeNetns } from './netns.js';
import type { HostHelper } from '../host-helper.js';
import { hostBridgeAddresses, type BridgeAddressPort } from './bridge-address.js';
import type { NamespacePinPaths, NetworkStatus, PodNetwork, PodNetworkArgs, PodNetworkResult } from './types.js';

/** What a NetworkManager is built from. Host paths are all injectable so tests and side-by-side runtimes never share state. */
export interface NetworkManagerOptions {
  /** CNI config dir (default /etc/cni/net.d). */
  confDir?: string;
  /** Where plugin binaries are looked up, in order (default /opt/cni/bin, /usr/lib/cni). */
  binDirs?: readonly string[];
  /** Attachment cache (persistent; e.g. ROOT/cni/results). */
  cacheDir: string;
  /** Where named netns files are bound (default /run/netns). */
  netnsDir?: string;
  /** Pod subnet of the default config list (default 10.89.0.0/16). */
  defaultSubnet?: string;
  /** Bridge device of the default config list (default corelet0). */
  bridgeName?: string;
  /** Network name of the default config list (default "corelet"); also names host-local's folder. */
  networkName?: string;
  /** host-local's dataDir in the default config list (persistent; e.g. ROOT/cni/networks). */
  ipamDataDir: string;
  /** Longest one plugin invocation may run (default 60 s). */
  pluginTimeoutMs?: number;
  /** Re-addresses the bridge on a pod CIDR change (default: ip(8) on the host). */
  bridgeAddresses?: BridgeAddressPort;
  /** Makes and removes the netns files and runs the CNI plugins (default: unshare(1), umount(8), each plugin: a fork of this process each). */
  hostHelper?: HostHelper;
  logger?: Logger;
}

/** NetworkManagerOptions with defaults applied and checked. */
export interface NetworkSettings {
  readonly confDir: string;
  readonly binDirs: readonly string[];
  readonly cacheDir: string;
  readonly netnsDir: string;
  readonly defaultSubnet: string;
  readonly bridgeName: string;
  readonly networkName: string;
  readonly ipamDataDir: string;
  readonly pluginTimeoutMs: number;
}

/** Applies defaults and validates options once, at construction. */
export function compileNetworkOptions(opts: NetworkManagerOptions): NetworkSettings {
  const s: NetworkSettings = {
    confDir: opts.confDir ?? NODE_PATHS.cniConfDir,
    binDirs: opts.binDirs ?? ['/opt/cni/bin', '/usr/lib/cni'],
    cacheDir: opts.cacheDir,
    netnsDir: opts.netnsDir ?? NODE_PATHS.netnsDir,
    defaultSubnet: checkCidr(opts.defaultSubnet ?? '10.89.0.0/16', 'pod subnet'),
    bridgeName: checkInterfaceName(opts.bridgeName ?? 'corelet0', 'bridge name'),
    networkName: opts.networkName ?? 'corelet',
    ipamDataDir: opts.ipamDataDir,
    pluginTimeoutMs: opts.pluginTimeoutMs ?? 60_000,
  };
  for (const [key, dir] of [
    ['confDir', s.confDir],
    ['cacheDir', s.cacheDir],
    ['netnsDir', s.netnsDir],
    ['ipamDataDir', s.ipamDataDir],
    ...s.binDirs.map((d) => ['binDirs', d] as const),
  ] as const) {
    if (typeof dir !== 'string' || !isAbsolute(dir)) throw invalidArgument(`network option ${key} must be an absolute path, got "${dir}"`);
  }
  if (s.binDirs.length === 0) throw invalidArgument('network option binDirs must name at least one folder');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(s.networkName)) throw invalidArgument(`network name "${s.networkName}" must be letters, digits, "_", "." or "-"`);
  if (!Number.isInteger(s.pluginTimeoutMs) || s.pluginTimeoutMs <= 0) throw invalidArgument('network option pluginTimeoutMs must be a positive integer');
  return s;
}

const NOT_READY = 'NetworkPluginNotReady';

/**
 * Pod networking: netns lifecycle, CNI ADD/DEL of the selected config list, NetworkReady status.
 * One operation per sandbox at a time; different sandboxes proceed in parallel.
 */
export class NetworkManager implements PodNetwork {
  readonly settings: NetworkSettings;
  private readonly logger: Logger;
  private readonly exec: CniExecutor;
  private readonly cache: CniResultCache;
  private readonly locks = new KeyedMutex();
  private readonly bridgeAddresses: BridgeAddressPort;
  private readonly hostHelper: HostHelper | undefined;
  private loaded: LoadedNetworkConfig | undefined;
  private current: NetworkStatus = { ready: false, reason: NOT_READY, message: 'network not initialised' };

  constructor(opts: NetworkManagerOptions) {
    this.settings = compileNetworkOptions(opts);
    this.logger = opts.logger ?? silentLogger;
    this.bridgeAddresses = opts.bridgeAddresses ?? hostBridgeAddresses;
    this.hostHelper = opts.hostHelper;
    this.exec = new CniExecutor({ binDirs: this.settings.binDirs, timeoutMs: this.settings.pluginTimeoutMs, logger: this.logger, helper: opts.hostHelper });
    this.cache = new CniResultCache(this.settings.cacheDir);
  }

  /** Writes the default config list when the conf dir has no config file, then loads the config. */
  async init(): Promise<void> {
    await mkdir(this.settings.cacheDir, { recursive: true, mode: 0o700 });
    let entries: string[] = [];
    try {
      entries = await readdir(this.settings.confDir);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw wrap(err, `reading CNI conf dir ${this.settings.confDir}`);
    }
    if (configFileNames(entries).length === 0) {
      const file = join(this.settings.confDir, DEFAULT_CONFIG_FILE);
      await writeJsonAtomic(
        file,
        defaultNetworkConfig({
          networkName: this.settings.networkName,
          bridgeName: this.settings.bridgeName,
          subnet: this.settings.defaultSubnet,
          ipamDataDir: this.settings.ipamDataDir,
        }),
      );
      this.logger.info({ file, subnet: this.settings.defaultSubnet, bridge: this.settings.bridgeName }, 'wrote default CNI config');
    }
    await this.reload();
  }

  /**
   * Re-reads the conf dir and checks the plugin binaries, so a config or plugin installed after
   * start (as network add-ons do) makes the node ready without a restart.
   */
  async reload(): Promise<NetworkStatus> {
    const { loaded, skipped, fileCount } = await loadNetworkConfig(this.settings.confDir);
    const dirs = this.settings.binDirs.join(', ');
    if (!loaded) {
      this.loaded = undefined;
      const message =
        fileCount === 0
          ? `no CNI network config found in ${this.settings.confDir}`
          : `no usable CNI network config in ${this.settings.confDir}: ${skipped.join('; ')}`;
      this.current = { ready: false, reason: NOT_READY, message };
    } else {
      this.loaded = loaded;
      const missing = await this.exec.missingBinaries(loaded.config);
      this.current =
        missing.length > 0
          ? { ready: false, reason: NOT_READY, message: `CNI plugin binaries missing for ${loaded.file}: ${missing.join(', ')} (looked in ${dirs})` }
          : { ready: true, reason: '', message: '' };
    }
    return this.current;
  }

  /**
   * UpdateRuntimeConfig's pod CIDR (the kubelet sends the node's podCIDR): rewrites corelet's own
   * default config list with that subnet so new pods get addresses from it. A config list written by
   * someone else (a network add-on) is left alone: it manages its own addresses. The bridge gets
   * the new range's gateway (bridge-address.ts; also when only that step was missed, e.g. a crash
   * after the config was written); pods with addresses of an old range keep them and their
   * gateway until they are recreated. Returns whether the config changed.
   */
  async setPodCidr(cidr: string): Promise<boolean> {
    checkCidr(cidr, 'pod CIDR');
    const file = join(this.settings.confDir, DEFAULT_CONFIG_FILE);
    if (this.loaded?.file !== file || this.loaded.config.name !== this.settings.networkName) return false;
    const bridge = this.loaded.config.plugins.find((p) => p.type === 'bridge');
    const current = (bridge?.ipam as { ranges?: { subnet: string }[][] } | undefined)?.ranges?.[0]?.[0]?.subnet;
    await this.bridgeAddresses.ensureGateway(this.settings.bridgeName, cidr, await this.allocatedIps(), this.logger);
    if (current === cidr) return false;
    await writeJsonAtomic(
      file,
      defaultNetworkConfig({ networkName: this.settings.networkName, bridgeName: this.settings.bridgeName, subnet: cidr, ipamDataDir: this.settings.ipamDataDir }),
    );
    this.logger.info({ file, from: current, to: cidr }, 'pod CIDR updated');
    await this.reload();
    return true;
  }

  /** Pod IPs host-local has handed out on corelet's own network (its dataDir holds one file per IP). */
  private async allocatedIps(): Promise<string[]> {
    const names = await readdir(join(this.settings.ipamDataDir, this.settings.networkName)).catch(() => [] as string[]);
    return names.filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n));
  }

  /** The CRI NetworkReady condition (re-reads the config first). */
  async status(): Promise<NetworkStatus> {
    return this.reload();
  }

  /** The config list new pods get, with its file, when one is loaded. */
  get config(): LoadedNetworkConfig | undefined {
    return this.loaded;
  }

  /** Creates NAME under the netns dir with lo up; returns its path. */
  createNetns(name: string, pins?: NamespacePinPaths): Promise<string> {
    return createNetns(this.settings.netnsDir, name, pins, this.hostHelper);
  }

  /** Unmounts and removes a netns file; missing is fine. */
  removeNetns(path: string): Promise<void> {
    return removeNetns(path, this.hostHelper);
  }

  /**
   * CNI ADD of the pod's interface. The cache entry is written before ADD so that even a crash
   * midway leaves enough to DEL; a failed ADD is undone with DEL before the error is thrown, so
   * no IP or rule leaks.
   */
  async setUp(args: PodNetworkArgs): Promise<PodNetworkResult> {
    const sandboxId = checkContainerId(args.sandboxId);
    const cniArgs = buildCniArgs(args);
    const runtimeConfig = runtimeConfigFor(args.portMappings);
    return this.locks.run(sandboxId, async () => {
      if (!this.current.ready) await this.reload();
      const loaded = this.loaded;
      if (!this.current.ready || !loaded) throw failedPrecondition(`network plugin not ready: ${this.current.message}`);
      if (!(await isNetworkNamespace(args.netnsPath))) {
        throw invalidArgument(`"${args.netnsPath}" is not a network namespace`);
      }
      if (await this.cache.read(sandboxId)) {
        throw failedPrecondition(`network of sandbox ${sandboxId} is already set up; tear it down first`);
      }
      const entry: CniCacheEntry = {
        sandboxId,
        ifName: POD_IFNAME,
        netnsPath: args.netnsPath,
        cniArgs,
        runtimeConfig,
        configFile: loaded.file,
        config: loaded.config,
      };
      const rt: CniRuntimeArgs = { containerId: sandboxId, netns: args.netnsPath, ifName: POD_IFNAME, args: cniArgs, runtimeConfig };
      await this.cache.write(entry);
      let raw: unknown;
      try {
        const added = await this.exec.add(loaded.config, rt);
        raw = added.raw;
        const ips = podIps(added.result, POD_IFNAME);
        if (ips.length === 0) throw internal(`network ${loaded.config.name} gave the pod no IP address on ${POD_IFNAME}`);
        await this.cache.write({ ...entry, result: raw });
        this.logger.debug({ sandboxId, ips }, 'pod network set up');
        return { ip: ips[0]!, additionalIps: ips.slice(1), interfaces: added.result.interfaces };
      } catch (err) {
        await this.exec
          .del(loaded.config, rt, raw)
          .then(() => this.cache.remove(sandboxId))
          .catch((delErr: unknown) => {
            // The cache entry stays, so a later tearDown retries the DEL.
            this.logger.warn({ sandboxId, err: delErr }, 'CNI DEL after a failed ADD failed');
          });
        throw wrap(err, `setting up network of sandbox ${sandboxId}`);
      }
    });
  }

  /**
   * CNI DEL of the pod's interface, replaying the cached ADD (same config list, args and
   * runtimeConfig, its result as prevResult). Nothing cached means nothing to delete. When the
   * netns is gone, CNI_NETNS is empty, as the spec allows.
   */
  async tearDown(args: PodNetworkArgs): Promise<void> {
    const sandboxId = checkContainerId(args.sandboxId);
    await this.locks.run(sandboxId, async () => {
      let entry: CniCacheEntry | undefined;
      let unusable = false;
      try {
        entry = await this.cache.read(sandboxId);
      } catch (err) {
        // Without a usable record, DEL with today's config still releases the IP (IPAM is keyed by id).
        this.logger.warn({ sandboxId, err }, 'CNI cache entry unusable; tearing down with the current config');
        unusable = true;
      }
      if (!entry && !unusable) {
        this.logger.debug({ sandboxId }, 'no CNI attachment cached; nothing to tear down');
        return;
      }
      const config = entry?.config ?? this.loaded?.config;
      if (!config) throw failedPrecondition(`cannot tear down network of sandbox ${sandboxId}: ${this.current.message}`);
      const netnsPath = args.netnsPath || entry?.netnsPath || '';
      const netnsPresent = await isNetworkNamespace(netnsPath);
      const rt: CniRuntimeArgs = {
        containerId: sandboxId,
        netns: netnsPresent ? netnsPath : '',
        ifName: entry?.ifName ?? POD_IFNAME,
        args: entry?.cniArgs ?? buildCniArgs(args),
        runtimeConfig: entry?.runtimeConfig ?? runtimeConfigFor(args.portMappings),
      };
      try {
        await this.exec.del(config, rt, entry?.result);
      } catch (err) {
        throw wrap(err, `tearing down network of sandbox ${sandboxId}`);
      }
      if (!netnsPresent && entry?.result !== undefined && leaksIpMasqWithoutNetns(config)) {
        const ips = podIps(parseCniResult(entry.result, 'cached result'), rt.ifName);
        this.logger.debug({ sandboxId, comment: ipMasqComment(config.name, sandboxId) }, 'netns gone: removing ipMasq chain');
        await removeIpMasqChain(config.name, sandboxId, ips, this.logger);
      }
      await this.cache.remove(sandboxId);
    });
  }
}
