import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { createLogger } from '../lib/logger.js';
import { DEFAULTS, loadRuntimeConfig } from '../runtime/index.js';
import { ImageStore, loadRegistriesConfig } from '../runtime/image/index.js';
import { packageInfo } from './package-info.js';

/** `corelet images import FILE`: load an OCI (or docker-save) archive into the node's image store. */
export function registerImagesCommand(program: Command): void {
  const images = program.command('images').description('manage the runtime image store directly (air-gapped nodes)');
  images
    .command('import <file>')
    .description('import an OCI image-layout archive (skopeo copy ... oci-archive:FILE:NAME) or a docker-save archive')
    .option('--root <dir>', `the runtime's root (default ${DEFAULTS.root})`)
    .option('--config <file>', 'the runtime configuration file')
    .action(async (file: string, opts: { root?: string; config?: string }) => {
      const config = await loadRuntimeConfig(opts, join(packageInfo().root, 'dist', 'pause'));
      const logger = createLogger('corelet-images', 'warn');
      const store = new ImageStore({ root: join(config.root, 'images'), registries: await loadRegistriesConfig(config.registriesFile), logger });
      await store.init();
      const records = await store.importArchive(resolve(file));
      for (const r of records) console.log(`imported ${r.repoTags.join(', ') || '<untagged>'} ${r.id}`);
    });
}
