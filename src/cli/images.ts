import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { lockRoot } from '../lib/root-lock.js';
import { createLogger } from '../lib/logger.js';
import { createCriClient, grpcMessage, isUnavailable } from '../cri/index.js';
import { DEFAULTS, loadRuntimeConfig, type RuntimeConfig } from '../runtime/index.js';
import { ImageStore, loadRegistriesConfig } from '../runtime/image/index.js';
import { packageInfo } from './package-info.js';

/**
 * `corelet images import FILE`: loads an OCI (or docker-save) archive into the node's image store.
 * With the runtime running, the runtime does the import (through its admin API on the CRI socket),
 * so its store is never written by two processes; with the runtime stopped, the store is written
 * directly.
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
      const imported = (await importThroughRuntime(config.socket, path)) ?? (await importDirectly(config, path));
      for (const r of imported) console.log(`imported ${r.repo_tags.join(', ') || '<untagged>'} ${r.id}`);
    });
}

type Imported = { id: string; repo_tags: string[] }[];

/** Asks the running runtime to import; undefined when no runtime answers on the socket. */
async function importThroughRuntime(socket: string, path: string): Promise<Imported | undefined> {
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

/** Imports into the store on disk (the runtime is not running, so nobody else writes it). */
async function importDirectly(config: RuntimeConfig, path: string): Promise<Imported> {
  const logger = createLogger('corelet-images', 'warn');
  // The root's lock makes "nobody else writes it" true: a runtime starting meanwhile waits its turn.
  const lock = lockRoot(config.root, 'corelet images import');
  try {
    const store = new ImageStore({ root: join(config.root, 'images'), registries: await loadRegistriesConfig(config.registriesFile), logger });
    await store.init();
    return (await store.importArchive(path)).map((r) => ({ id: r.id, repo_tags: r.repoTags }));
  } finally {
    lock.release();
  }
}
