/**
 * Importing an image archive into the runtime's store: one code path for the running runtime (its
 * admin ImportImage call on the CRI socket) and for `corelet images import` with no runtime running
 * ({@link importImageArchiveOffline}: the same store, opened as the runtime opens it, under the
 * runtime's root lock). The store never has a second writer: while a runtime holds the root, the
 * offline path fails on the lock and the CLI must go through the socket (containerd's `ctr images
 * import` and CRI-O likewise only ever import through the daemon or with the daemon stopped).
 */
import { isAbsolute, join } from 'node:path';
import { invalidArgument, lockRoot, type Logger } from '../lib/index.js';
import type { RuntimeConfig } from './config.js';
import { ImageStore, loadRegistriesConfig, type RegistriesConfig } from './image/index.js';

/** One imported image as the admin API and the CLI report it. */
export interface ImportedImage {
  id: string;
  repo_tags: string[];
}

/** The runtime's image store under config.root (what startRuntime serves); init() not yet called. */
export function runtimeImageStore(
  config: RuntimeConfig,
  registries: RegistriesConfig,
  logger: Logger,
  isInUse?: (imageId: string) => boolean,
): ImageStore {
  return new ImageStore({ root: join(config.root, 'images'), registries, logger, pinned: config.pinnedImages, isInUse, unpackWorker: config.imageUnpackWorker });
}

/** Imports the archive at path (absolute, on the node) into images. */
export async function importImageArchive(images: ImageStore, path: string): Promise<ImportedImage[]> {
  if (!path || !isAbsolute(path)) throw invalidArgument(`path must be an absolute path on the node, got "${path}"`);
  const records = await images.importArchive(path);
  return records.map((r) => ({ id: r.id, repo_tags: r.repoTags }));
}

/**
 * With no runtime running: takes the runtime's root lock (so a runtime starting meanwhile waits its
 * turn, and a running one makes this fail naming its pid), opens the runtime's image store and
 * imports. Nothing but the image store is touched.
 */
export async function importImageArchiveOffline(config: RuntimeConfig, path: string, logger: Logger): Promise<ImportedImage[]> {
  const lock = lockRoot(config.root, 'corelet images import');
  try {
    const images = runtimeImageStore(config, await loadRegistriesConfig(config.registriesFile), logger);
    await images.init();
    return await importImageArchive(images, path);
  } finally {
    lock.release();
  }
}
