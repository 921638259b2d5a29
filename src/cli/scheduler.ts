import type { Command } from 'commander';
import { resolve } from 'node:path';
import { createLogger } from '../lib/logger.js';
import { initScheduler, SCHEDULER_DEFAULTS, startScheduler } from '../scheduler/index.js';

/** `corelet scheduler [init]`: the control plane, and its one-time setup. */
export function registerSchedulerCommand(program: Command): void {
  program
    .command('scheduler [verb]')
    .description('run the scheduler (API on HTTPS, nodes on WSS); `scheduler init` makes the CA, server certificate and tokens')
    .option('--dir <dir>', 'scheduler state: SQLite store and PKI', SCHEDULER_DEFAULTS.dir)
    .option('--address <ip>', 'address to listen on', SCHEDULER_DEFAULTS.address)
    .option('--port <n>', 'port for the API and the node sessions', String(SCHEDULER_DEFAULTS.port))
    .option('--host <name...>', 'init: names and addresses the server certificate is valid for (the first goes into the join command)')
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .action(async (verb: string | undefined, opts: { dir: string; address: string; port: string; host?: string[]; logLevel: string }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${opts.port}`);
      const dir = resolve(opts.dir);
      if (verb === 'init') {
        const r = await initScheduler({ dir, hosts: opts.host ?? ['127.0.0.1'], port });
        console.log(`scheduler state in ${dir}; the CLI config (~/.corelet/config) points at ${r.server}`);
        console.log('join a node with:');
        console.log(`  corelet agent --server ${r.server.replace('https://', 'wss://')} --token ${r.bootstrapToken} --ca-cert-hash ${r.caCertHash}`);
        return;
      }
      if (verb !== undefined) throw new Error(`unknown verb "${verb}": use \`corelet scheduler\` or \`corelet scheduler init\``);
      const logger = createLogger('corelet-scheduler', opts.logLevel);
      const running = await startScheduler({ dir, address: opts.address, port, logger });
      const shutdown = () => void running.close().then(() => process.exit(0));
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    });
}
