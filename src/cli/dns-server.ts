import type { Command } from 'commander';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { createLogger } from '../lib/index.js';
import { runDnsProcess } from '../agent/index.js';

/**
 * `corelet dns-server` (hidden): the node DNS process. The agent starts it (detached, so it outlives
 * agent restarts) and feeds it over ROOT/dns/dns.sock; nobody runs it by hand.
 */
export function registerDnsServerCommand(program: Command): void {
  program
    .command('dns-server', { hidden: true })
    .description("the node DNS process the agent starts and feeds (cluster DNS that outlives agent restarts)")
    .requiredOption('--dir <dir>', 'its folder: the feed socket dns.sock and the pidfile dns.pid (the agent\'s ROOT/dns)')
    .requiredOption('--listen <ip>', 'the cluster DNS address to answer on (UDP and TCP)')
    .option('--port <n>', 'the port', '53')
    .option('--cluster-domain <domain>', 'the cluster\'s DNS domain', 'cluster.local')
    .option('--resolv-conf <file>', 'the resolv.conf whose nameservers names outside the cluster go to', '/etc/resolv.conf')
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .action(async (opts: Record<string, string>) => {
      if (isIP(opts.listen!) !== 4) throw new Error(`--listen must be an IPv4 address, got ${opts.listen}`);
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${opts.port}`);
      const logger = createLogger('corelet-dns', opts.logLevel);
      const running = await runDnsProcess({
        settings: { host: opts.listen!, port, clusterDomain: opts.clusterDomain!, resolvConf: resolve(opts.resolvConf!) },
        dir: resolve(opts.dir!),
        logger,
      });
      let stopping = false;
      const stop = (why: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ why }, 'node DNS process stopping');
        void running.close().then(() => process.exit(0));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => undefined);
      void running.shutdown.then(() => stop('asked by the agent'));
    });
}
