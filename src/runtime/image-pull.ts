/**
 * Pulling an image with progress, for `corelet images pull`: through the running runtime (its admin
 * PullImage stream on the CRI socket, {@link pullImageStreaming}; the pull is the runtime's own, so
 * a CRI PullImage of the same reference in flight shares its download) or, with no runtime running,
 * into the same store opened as the runtime opens it, under the runtime's root lock
 * ({@link pullImageOffline}). CRI PullImage itself has no progress in its API.
 */
import { invalidArgument, lockRoot, type Logger } from '../lib/index.js';
import type { RuntimeConfig } from './config.js';
import { runtimeImageStore } from './image-import.js';
import { loadRegistriesConfig, type ImageStore, type PullProgress } from './image/index.js';

/** A progress report as the admin API sends it (and the CLI prints it). */
export interface PullProgressMessage {
  image: string;
  phase: PullProgress['phase'];
  layers_total: number;
  layers_fetched: number;
  layers_applied: number;
  bytes_total: number;
  bytes_fetched: number;
  /** Set when phase is done. */
  image_id: string;
}

/** How often byte counts are passed on (layer and phase changes always are). */
export const PROGRESS_INTERVAL_MS = 100;

/**
 * Wraps send so it gets every phase or layer change at once and byte-only changes at most every
 * intervalMs (the store reports per network chunk).
 */
export function throttleProgress(send: (p: PullProgressMessage) => void, intervalMs = PROGRESS_INTERVAL_MS, now = Date.now): (p: PullProgress, imageId?: string) => void {
  let last: PullProgressMessage | undefined;
  let lastAt = 0;
  return (p, imageId = '') => {
    const m: PullProgressMessage = {
      image: p.image,
      phase: p.phase,
      layers_total: p.layersTotal,
      layers_fetched: p.layersFetched,
      layers_applied: p.layersApplied,
      bytes_total: p.bytesTotal,
      bytes_fetched: p.bytesFetched,
      image_id: imageId,
    };
    const changed = !last || last.phase !== m.phase || last.layers_fetched !== m.layers_fetched || last.layers_applied !== m.layers_applied || last.layers_total !== m.layers_total;
    if (!changed && (m.bytes_fetched === last!.bytes_fetched || now() - lastAt < intervalMs)) return;
    last = m;
    lastAt = now();
    send(m);
  };
}

/**
 * Pulls ref into images, sending throttled progress; the last message has phase done and the image
 * id. A client that goes away (signal) stops the messages, not the pull (others may share it).
 */
export async function pullImageStreaming(images: ImageStore, ref: string, send: (p: PullProgressMessage) => void, signal?: AbortSignal): Promise<void> {
  if (!ref) throw invalidArgument('image is required');
  const relay = throttleProgress((m) => {
    if (!signal?.aborted) send(m);
  });
  let last: PullProgress | undefined;
  const rec = await images.pull(ref, undefined, (p) => {
    last = p;
    if (p.phase !== 'done') relay(p);
  });
  const final: PullProgress = last ?? { image: ref, phase: 'done', layersTotal: rec.layers.length, layersFetched: rec.layers.length, layersApplied: rec.layers.length, bytesTotal: rec.size, bytesFetched: rec.size };
  relay({ ...final, phase: 'done' }, rec.id);
}

/**
 * With no runtime running: takes the runtime's root lock, opens the runtime's image store and pulls
 * (the registries file of the runtime's config applies: mirrors, auth, TLS).
 */
export async function pullImageOffline(config: RuntimeConfig, ref: string, logger: Logger, send: (p: PullProgressMessage) => void): Promise<void> {
  const lock = lockRoot(config.root, 'corelet images pull');
  try {
    const images = runtimeImageStore(config, await loadRegistriesConfig(config.registriesFile), logger);
    await images.init();
    await pullImageStreaming(images, ref, send);
  } finally {
    lock.release();
  }
}
