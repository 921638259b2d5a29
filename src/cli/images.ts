import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { createLogger } from '../lib/index.js';
import { createCriClient, grpcMessage, isUnavailable } from '../cri/index.js';
import {
  DEFAULTS,
  importImageArchiveOffline,
  loadRuntimeConfig,
  pullImageOffline,
  type ImportedImage,
  type PullProgressMessage,
} from '../runtime/index.js';
import { packageInfo } from './package-info.js';
import { createPullPrinter } from './pull-progress.js';

/**
 * `corelet images import FILE`: loads an OCI (or docker-save) archive into the node's image store.
 * With the runtime running, the runtime does the import (its admin API on the CRI socket); with no
 * runtime answering, the CLI runs the runtime's own import code path (importImageArchiveOffline,
 * under the runtime's root lock). Either way the store has one writer, the runtime's code.
 */
export function registerImagesCommand(program: Command): void {
  const images = program.command('images').description('manage the runtime image store: pull with progress, import archives (air-gapped nodes)');
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
  registerPull(images);
}

/**
 * `corelet images pull IMAGE`: pulls into the node's image store with live progress. CRI PullImage
 * has no progress, so the CLI uses the runtime's admin API on the same socket (Admin/PullImage, a
 * stream of progress messages; the pull is the runtime's own, shared with a CRI pull of the same
 * image in flight); with no runtime answering, it pulls in this process into the same store, under
 * the runtime's root lock, with the same progress.
 */
function registerPull(images: Command): void {
  images
    .command('pull <image>')
    .description('pull an image into the runtime image store, showing bytes, layers and rate as it goes')
    .option('--socket <path>', `the runtime's socket (default ${DEFAULTS.socket})`)
    .option('--root <dir>', `the runtime's root, used when the runtime is not running (default ${DEFAULTS.root})`)
    .option('--config <file>', 'the runtime configuration file')
    .option('--interval <ms>', 'without a terminal, the most milliseconds between progress lines', '1000')
    .action(async (image: string, opts: { socket?: string; root?: string; config?: string; interval: string }) => {
      const intervalMs = Number(opts.interval);
      if (!Number.isInteger(intervalMs) || intervalMs < 0) throw new Error(`--interval: "${opts.interval}" is not a whole number of milliseconds`);
      const config = await loadRuntimeConfig(opts, join(packageInfo().root, 'dist', 'pause'));
      const printer = createPullPrinter(process.stdout, { intervalMs });
      let last: PullProgressMessage | undefined;
      const onProgress = (m: PullProgressMessage) => {
        last = m;
        if (m.phase !== 'done') printer.update(m);
      };
      try {
        const through = await pullThroughRuntime(config.socket, image, onProgress);
        if (!through) await pullImageOffline(config, image, createLogger('corelet-images', 'warn'), onProgress);
      } catch (err) {
        printer.abandon();
        throw err;
      }
      if (last?.phase !== 'done') throw new Error(`pulling ${image}: the runtime ended the pull without reporting it done`);
      printer.finish(last);
    });
}

/** Pulls through the running runtime's admin stream; false when no runtime answers on the socket. */
async function pullThroughRuntime(socket: string, image: string, onProgress: (m: PullProgressMessage) => void): Promise<boolean> {
  if (!existsSync(socket)) return false;
  const client = createCriClient(`unix://${socket}`);
  let received = false;
  try {
    await new Promise<void>((resolve, reject) => {
      const call = client.raw.admin.PullImage({ image });
      call.on('data', (m: { image: string; phase: string; layers_total: number; layers_fetched: number; layers_applied: number; bytes_total: string; bytes_fetched: string; image_id: string }) => {
        received = true;
        onProgress({
          image: m.image,
          phase: m.phase as PullProgressMessage['phase'],
          layers_total: m.layers_total,
          layers_fetched: m.layers_fetched,
          layers_applied: m.layers_applied,
          bytes_total: Number(m.bytes_total),
          bytes_fetched: Number(m.bytes_fetched),
          image_id: m.image_id,
        });
      });
      call.on('error', reject);
      call.on('end', () => resolve());
    });
    return true;
  } catch (err) {
    if (!received && isUnavailable(err)) return false;
    throw new Error(grpcMessage(err), { cause: err });
  } finally {
    client.close();
  }
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
