import type { Command } from 'commander';
import { resolve } from 'node:path';
import { createLogger } from '../lib/index.js';
import { parseDuration } from './progress.js';
import { ttlSeconds } from './token.js';
import { initScheduler, SCHEDULER_DEFAULTS, startScheduler, MIN_SERVING_CERT_TTL_SECONDS } from '../scheduler/index.js';
import { nodeLifecycleConfig, withNodeLifecycleOptions, type NodeLifecycleFlags } from './node-lifecycle-flags.js';

/** `corelet scheduler [init]`: the control plane, and its one-time setup. */
export function registerSchedulerCommand(program: Command): void {
  const cmd = program
    .command('scheduler [verb]')
    .description('run the scheduler (API on HTTPS, nodes on WSS); `scheduler init` makes the CA, server certificate and tokens')
    .option('--dir <dir>', 'scheduler state: SQLite store and PKI', SCHEDULER_DEFAULTS.dir)
    .option('--address <ip>', 'address to listen on', SCHEDULER_DEFAULTS.address)
    .option('--port <n>', 'port for the API and the node sessions', String(SCHEDULER_DEFAULTS.port))
    .option('--host <name...>', 'init: names and addresses the server certificate is valid for (the first goes into the join command)')
    .option('--token-ttl <duration>', 'init: how long the bootstrap token it makes can join nodes (e.g. 30m, 24h); 0 = never expires', '24h')
    .option('--cluster-cidr <cidr>', 'IPv4 range the nodes\' pod CIDRs are cut from', '10.244.0.0/16')
    .option('--service-cluster-ip-range <cidr>', 'IPv4 range Services\' cluster IPs come from (its .10 is kept for the cluster DNS)', '10.96.0.0/12')
    .option('--service-node-port-range <min-max>', 'ports NodePort Services\' node ports come from', '30000-32767')
    .option('--node-cidr-mask-size <n>', 'prefix length of each node\'s pod CIDR', '24')
    .option('--node-cert-ttl <duration>', 'lifetime of the node certificates it signs (agents renew at 70–90% of it)', '720h')
    .option('--node-cert-expired-renewal-window <duration>', 'how long after its certificate expired a node may still renew it by proving its key (scheduler down past the node\'s renewal, machine asleep); 0 disables', '720h')
    .option('--serving-cert-ttl <duration>', 'lifetime of the scheduler\'s serving certificate, renewed from the CA at 70–80% of it while running', '8760h')
    .option('--sqlite-synchronous <mode>', 'NORMAL (a killed scheduler loses nothing; a power cut may lose the last commits) or FULL (an fsync per write: power-cut safe, ~2 ms a write)', 'NORMAL')
    .option('--pod-eviction-timeout <seconds>', 'how long after a NotReady node is tainted its pods are deleted (gracefully) and replaced on other nodes', String(SCHEDULER_DEFAULTS.podEvictionTimeoutSeconds))
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .option('--authorization-mode <mode>', 'RBAC (roles and bindings decide) or AlwaysAllow (any authenticated user may do anything)', 'RBAC')
    .option('--audit-log-path <file>', 'audit log of writes, exec and refused requests (JSON lines, 0600, rotated at 10 MiB, 2 backups); default DIR/audit.log')
    .option('--min-request-timeout <seconds>', 'watches and log follows end after a random 1x-2x this many seconds (clients watch again)', '1800');
  withNodeLifecycleOptions(cmd);
  cmd.action(async (verb: string | undefined, opts: NodeLifecycleFlags & { dir: string; address: string; port: string; host?: string[]; clusterCidr: string; serviceClusterIpRange: string; serviceNodePortRange: string; nodeCidrMaskSize: string; podEvictionTimeout: string; nodeCertTtl: string; nodeCertExpiredRenewalWindow: string; servingCertTtl: string; sqliteSynchronous: string; tokenTtl: string; logLevel: string; authorizationMode: string; auditLogPath?: string; minRequestTimeout: string }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${opts.port}`);
      const dir = resolve(opts.dir);
      if (verb === 'init') {
        const tokenTtlSeconds = ttlSeconds(opts.tokenTtl, '--token-ttl');
        const r = await initScheduler({ dir, hosts: opts.host ?? ['127.0.0.1'], port, tokenTtlSeconds });
        console.log(`scheduler state in ${dir}; the CLI config (~/.corelet/config) points at ${r.server}`);
        console.log(`bootstrap token (${tokenTtlSeconds === 0 ? 'never expires' : `valid ${opts.tokenTtl}`}; \`corelet token create\` makes more) written to ${r.tokenFile} (mode 0600)`);
        console.log('join a node with (copy the token file to it first, keeping it 0600):');
        console.log(`  corelet agent --server ${r.server.replace('https://', 'wss://')} --token-file ${r.tokenFile} --ca-cert-hash ${r.caCertHash}`);
        return;
      }
      if (verb !== undefined) throw new Error(`unknown verb "${verb}": use \`corelet scheduler\` or \`corelet scheduler init\``);
      const logger = createLogger('corelet-scheduler', opts.logLevel);
      const nodeCidrMaskSize = Number(opts.nodeCidrMaskSize);
      if (!/^\d+$/.test(opts.nodeCidrMaskSize.trim())) throw new Error(`--node-cidr-mask-size must be a prefix length such as 24, got ${opts.nodeCidrMaskSize}`);
      const evictionSeconds = Number(opts.podEvictionTimeout);
      if (!Number.isFinite(evictionSeconds) || evictionSeconds < 0) throw new Error(`--pod-eviction-timeout must be a number of seconds, got ${opts.podEvictionTimeout}`);
      const nodeCertTtlSeconds = durationSecondsAtLeast(opts.nodeCertTtl, '--node-cert-ttl', 60);
      const nodeCertExpiredRenewalWindowSeconds = durationSecondsAtLeast(opts.nodeCertExpiredRenewalWindow, '--node-cert-expired-renewal-window', 0);
      const servingCertTtlSeconds = durationSecondsAtLeast(opts.servingCertTtl, '--serving-cert-ttl', MIN_SERVING_CERT_TTL_SECONDS);
      const sqliteSynchronous = opts.sqliteSynchronous.toUpperCase();
      if (sqliteSynchronous !== 'FULL' && sqliteSynchronous !== 'NORMAL') throw new Error(`--sqlite-synchronous must be FULL or NORMAL, got ${opts.sqliteSynchronous}`);
      const minRequestTimeoutSeconds = Number(opts.minRequestTimeout);
      if (!/^\d+$/.test(opts.minRequestTimeout.trim()) || minRequestTimeoutSeconds < 1) throw new Error(`--min-request-timeout must be a whole number of seconds (at least 1), got ${opts.minRequestTimeout}`);
      if (opts.authorizationMode !== 'RBAC' && opts.authorizationMode !== 'AlwaysAllow') throw new Error(`--authorization-mode must be RBAC or AlwaysAllow, got ${opts.authorizationMode}`);
      const running = await startScheduler({
        dir,
        address: opts.address,
        port,
        logger,
        clusterCidr: opts.clusterCidr,
        serviceClusterIpRange: opts.serviceClusterIpRange,
        serviceNodePortRange: opts.serviceNodePortRange,
        nodeCidrMaskSize,
        podEvictionTimeoutMs: evictionSeconds * 1000,
        nodeLifecycle: nodeLifecycleConfig(opts),
        nodeCertTtlSeconds,
        nodeCertExpiredRenewalWindowSeconds,
        servingCertTtlSeconds,
        sqliteSynchronous,
        authorizationMode: opts.authorizationMode,
        auditLogPath: opts.auditLogPath ? resolve(opts.auditLogPath) : undefined,
        minRequestTimeoutSeconds,
      });
      const shutdown = () => void running.close().then(() => process.exit(0));
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    });
}

/** A duration flag in whole seconds, refused under min seconds. */
function durationSecondsAtLeast(text: string, flag: string, min: number): number {
  const seconds = Math.round(parseDuration(text, flag) / 1000);
  if (seconds < min) throw new Error(`${flag} must be at least ${min}s, got ${text}`);
  return seconds;
}
