import type { Command } from 'commander';
import { join } from 'node:path';
import { createLogger } from '../lib/index.js';
import { checkRuntimeAssets, DEFAULTS, loadRuntimeConfig, startRuntime } from '../runtime/index.js';
import { packageInfo } from './package-info.js';

/** `corelet runtime`: the CRI runtime daemon. */
export function registerRuntimeCommand(program: Command): void {
  program
    .command('runtime')
    .description('run the CRI v1 runtime (RuntimeService + ImageService) on a unix socket')
    .option('--socket <path>', `unix socket to serve CRI on (default ${DEFAULTS.socket})`)
    .option('--root <dir>', `persistent state: images, pods, containers (default ${DEFAULTS.root})`)
    .option('--state <dir>', `volatile state: runc state, conmon sockets, exit files (default ${DEFAULTS.state}, or ROOT/run with --root)`)
    .option('--config <file>', `configuration file (default ${DEFAULTS.config} if present)`)
    .option('--runtime <name>', 'OCI runtime: runc or crun, or a path to one (default: crun on a cgroup v2 host where it is installed, else runc)')
    .option('--cgroup-driver <driver>', 'systemd (pods in slices, containers in scopes, runc/crun --systemd-cgroup) or cgroupfs; default systemd where systemd is PID 1 on a cgroup v2 host, else cgroupfs')
    .option('--log-level <level>', 'debug, info, warn or error (default info)')
    .action(async (opts: { socket?: string; root?: string; state?: string; config?: string; runtime?: string; logLevel?: string; cgroupDriver?: string }) => {
      const { root, version } = packageInfo();
      const assets = { pauseRootfs: join(root, 'dist', 'pause'), helperDir: join(root, 'dist', 'bin') };
      // An incomplete installation (no proto/, no C helpers) fails here, before anything is made.
      checkRuntimeAssets(assets);
      const config = await loadRuntimeConfig(opts, assets.pauseRootfs, assets.helperDir);
      const logger = createLogger('corelet-runtime', config.logLevel);
      const daemon = await startRuntime(config, logger, version);
      let closing = false;
      const shutdown = (signal: string) => {
        if (closing) return;
        closing = true;
        logger.info({ signal }, 'shutting down; containers keep running');
        void daemon.close().then(() => process.exit(0));
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
    });
}
