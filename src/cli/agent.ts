import type { Command } from 'commander';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { createLogger } from '../lib/index.js';
import { parseCgroupDriver } from '../host/index.js';
import { isPodSecurityLevel, memoryBytes } from '../api/index.js';
import { parseDuration } from './progress.js';
import { AGENT_DEFAULTS, cleanupNodeServices, defaultNodeName, SERVICES_DEFAULTS, startAgent, validateServicesConfig } from '../agent/index.js';

/** `corelet agent`: the node daemon that runs Pods through any CRI runtime. */
export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description('run the node agent: pods from manifests (and later the scheduler) through a CRI runtime')
    .option('--runtime-endpoint <url>', 'CRI runtime (corelet runtime, containerd, CRI-O)', AGENT_DEFAULTS.runtimeEndpoint)
    .option('--pod-manifest-path <dir>', 'run the Pod manifests in this folder as static pods')
    .option('--node-name <name>', 'this node\'s name (default: the hostname)')
    .option('--node-ip <ip>', 'this node\'s InternalIP: other nodes route pod traffic to it, pods see it as hostIP (default: the first non-loopback IPv4)')
    .option('--address <ip>', `address of the agent's port (/healthz, /pods, /events, /metrics): default ${AGENT_DEFAULTS.address} (HTTPS, client certificates) when joined, ${AGENT_DEFAULTS.standaloneAddress} (plain HTTP) standalone`)
    .option('--port <n>', 'port of the HTTP endpoints', String(AGENT_DEFAULTS.port))
    .option('--root <dir>', 'agent state (volumes)', AGENT_DEFAULTS.root)
    .option('--log-dir <dir>', 'where pod logs go', AGENT_DEFAULTS.logRoot)
    .option('--system-reserved <list>', 'resources kept for the system, e.g. cpu=500m,memory=512Mi', '')
    .option('--eviction-hard <list>', 'hard eviction thresholds (memory.available, nodefs.available, imagefs.available)', 'memory.available<100Mi,nodefs.available<10%,imagefs.available<15%')
    .option('--container-log-max-size <quantity>', 'a running container\'s log is rotated once it reaches this size', '10Mi')
    .option('--container-log-max-files <n>', 'log files kept per container, the current one included (at least 2)', '5')
    .option('--container-log-monitor-interval <duration>', 'how often container log sizes are checked', '250ms')
    .option('--image-gc-high-threshold <percent>', 'image filesystem usage at which unused images are removed (100: never)', '85')
    .option('--image-gc-low-threshold <percent>', 'image filesystem usage image garbage collection frees down to', '80')
    .option('--image-minimum-gc-age <duration>', 'an image is never removed sooner than this after the agent first saw it', '2m')
    .option('--cgroup-root <dir>', 'where cgroups are mounted', AGENT_DEFAULTS.cgroupRoot)
    .option('--qos-cgroup <name>', 'name of the top-level pod cgroup', AGENT_DEFAULTS.qosTop)
    .option('--cgroup-driver <driver>', "systemd (QoS and pod cgroups as slices, through systemd) or cgroupfs (default: the runtime's, from its CRI RuntimeConfig; if it does not say, systemd where systemd is PID 1 on a cgroup v2 host, else cgroupfs)")
    .option('--server <url>', 'scheduler to join (wss://HOST:PORT)')
    .option('--token-file <file>', 'file (mode 0600) holding the bootstrap token; needed only until the node has its certificate in ROOT/pki')
    .option('--token <token>', 'removed: use --token-file (a token in argv is visible to every local user)')
    .option('--ca-cert-hash <sha256:hex>', "the scheduler CA's hash")
    .option('--static-pod-security <level>', 'the Pod Security level static pods must meet: privileged, baseline or restricted', 'baseline')
    .option('--cluster-dns <ip>', 'the cluster DNS address: the pods\' nameserver (dnsPolicy ClusterFirst), put on lo of this node, where the node\'s DNS server answers; "" disables cluster DNS', SERVICES_DEFAULTS.clusterDNS)
    .option('--cluster-domain <domain>', 'the cluster\'s DNS domain', SERVICES_DEFAULTS.clusterDomain)
    .option('--resolv-conf <file>', 'the resolv.conf pods with dnsPolicy Default get (and the cluster DNS forwards to); "" for none (on hosts with systemd-resolved: /run/systemd/resolve/resolv.conf)', SERVICES_DEFAULTS.resolvConf)
    .option('--cluster-cidr <cidr>', 'the cluster\'s pod CIDR: Service traffic from outside it is masqueraded, the node DNS answers it (default: the scheduler\'s --cluster-cidr, which it tells the node)')
    .option('--proxy-table <name>', 'the nftables table (family inet) of the Service rules', SERVICES_DEFAULTS.proxyTable)
    .option('--cleanup', 'remove what the agent made for Services on this node (the nft table, its conntrack entries, the cluster DNS address on lo, the node DNS process of --root) and exit: the node stops for good; a plain stop keeps them')
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .action(async (opts: Record<string, string | undefined>) => {
      const services = validateServicesConfig({
        clusterDNS: opts.clusterDns ?? '',
        clusterDomain: opts.clusterDomain ?? '',
        resolvConf: opts.resolvConf ? resolve(opts.resolvConf) : '',
        clusterCIDR: opts.clusterCidr ?? '',
        proxyTable: opts.proxyTable ?? '',
      });
      if (opts.cleanup) {
        const errors = await cleanupNodeServices(services, createLogger('corelet-agent', opts.logLevel), join(resolve(opts.root!), 'dns'));
        if (errors.length > 0) throw new Error(`cleanup incomplete:\n  ${errors.join('\n  ')}`);
        return;
      }
      if (opts.token !== undefined) {
        throw new Error('--token is no longer accepted: a token on the command line is visible to every local user (ps). Write it to a file only you can read (umask 077; chmod 600 FILE) and pass --token-file FILE');
      }
      if (opts.server && !opts.caCertHash) throw new Error('--server needs --ca-cert-hash, and --token-file to join (both printed by `corelet scheduler init`)');
      if (!opts.server && opts.tokenFile) throw new Error('--token-file needs --server (the scheduler to join)');
      if (opts.nodeIp !== undefined && isIP(opts.nodeIp) === 0) throw new Error(`--node-ip must be an IP address of this node (e.g. the private network's, on eth1), got ${opts.nodeIp}`);
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${opts.port}`);
      if (!isPodSecurityLevel(opts.staticPodSecurity)) throw new Error(`--static-pod-security must be privileged, baseline or restricted, got ${opts.staticPodSecurity}`);
      const int = (flag: string, v: string | undefined) => {
        if (!/^\d+$/.test(v ?? '')) throw new Error(`${flag} must be a non-negative integer, got ${v}`);
        return Number(v);
      };
      const size = (flag: string, v: string | undefined) => {
        try {
          return memoryBytes(v ?? '');
        } catch {
          throw new Error(`${flag} must be a quantity such as 10Mi, got ${v}`);
        }
      };
      const disk = {
        containerLogMaxSize: size('--container-log-max-size', opts.containerLogMaxSize),
        containerLogMaxFiles: int('--container-log-max-files', opts.containerLogMaxFiles),
        containerLogMonitorIntervalMs: parseDuration(opts.containerLogMonitorInterval ?? '', '--container-log-monitor-interval'),
        imageGcHighThreshold: int('--image-gc-high-threshold', opts.imageGcHighThreshold),
        imageGcLowThreshold: int('--image-gc-low-threshold', opts.imageGcLowThreshold),
        imageMinimumGcAgeMs: parseDuration(opts.imageMinimumGcAge ?? '', '--image-minimum-gc-age'),
      };
      if (disk.containerLogMonitorIntervalMs <= 0) throw new Error('--container-log-monitor-interval must be positive');
      const logger = createLogger('corelet-agent', opts.logLevel);
      const agent = await startAgent(
        {
          runtimeEndpoint: opts.runtimeEndpoint!,
          podManifestPath: opts.podManifestPath ? resolve(opts.podManifestPath) : undefined,
          nodeName: opts.nodeName ?? defaultNodeName(),
          address: opts.address,
          port,
          root: resolve(opts.root!),
          logRoot: resolve(opts.logDir!),
          systemReserved: opts.systemReserved ?? '',
          evictionHard: opts.evictionHard!,
          cgroupRoot: opts.cgroupRoot!,
          qosTop: opts.qosCgroup!,
          cgroupDriver: opts.cgroupDriver === undefined ? undefined : parseCgroupDriver(opts.cgroupDriver),
          scheduler: opts.server ? { server: opts.server, tokenFile: opts.tokenFile ? resolve(opts.tokenFile) : undefined, caCertHash: opts.caCertHash! } : undefined,
          nodeIP: opts.nodeIp,
          staticPodSecurity: opts.staticPodSecurity,
          disk,
          services,
        },
        logger,
      );
      const shutdown = (signal: string) => {
        logger.info({ signal }, 'agent stopping; pods keep running');
        void agent.close().then(() => process.exit(0));
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    });
}
