import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { createLogger } from '../lib/index.js';
import { createCriClient, grpcMessage, isUnavailable } from '../cri/index.js';
import { DEFAULTS, importImageArchiveOffline, loadRuntimeConfig, type ImportedImage } from '../runtime/index.js';
import { packageInfo } from './package-info.js';

/**
 * `corelet images import FILE`: loads an OCI (or docker-save) archive into the node's image store.
 * With the runtime running, the runtime does the import (its admin API on the CRI socket); with no
 * runtime answering, the CLI runs the runtime's own import code path (importImageArchiveOffline,
 * under the runtime's root lock). Either way the store has one writer, the runtime's code.
 */
export function registerImagesCommand(program: Command): void {
  const images = program.command('images').description('manage the runtime image store (air-gapped nodes)');
  images
    .command('import <file>')
    .description('import an OCI image-layout archive (skopeo copy ... oci-archive:FILE:NAME) or a docker-save archive')
    .option('--socket <path>', `the runtime's socket (default ${DEFAULTS.socket})`)
    .option('--root <dir>', `the runtime's root, used when the runtime is not running (default ${DEFAULTS.root})`)
    .option('--config <file>', 'the runtime configuration file')
    .action(async (file: string, opts: { socket?: string; root?: string; config?: string }) => {
      const path = resolve(file);
      if (!existsSync(path)) throw new Error(`${path}: no such file`);
      const config = await loadRuntimeConfig(opts, join(packageInfo().root, 'dist', 'pause'));
      const imported =
        (await importThroughRuntime(config.socket, path)) ?? (await importImageArchiveOffline(config, path, createLogger('corelet-images', 'warn')));
      for (const r of imported) console.log(`imported ${r.repo_tags.join(', ') || '<untagged>'} ${r.id}`);
    });
}

/** Asks the running runtime to import; undefined when no runtime answers on the socket. */
async function importThroughRuntime(socket: string, path: string): Promise<ImportedImage[] | undefined> {
  if (!existsSync(socket)) return undefined;
  const client = createCriClient(`unix://${socket}`);
  try {
    return (await client.admin.ImportImage({ path }, { deadlineMs: 10 * 60_000 })).images;
  } catch (err) {
    if (isUnavailable(err)) return undefined;
    throw new Error(grpcMessage(err), { cause: err });
  } finally {
    client.close();
  }
}
