/**
 * Image garbage collection as the kubelet's image manager does it: it records when it first saw
 * each image and when a container last used it (any container in the runtime, running or not);
 * when the image filesystem is at least highThreshold% used it removes images no container uses,
 * least recently used first (then oldest detected), until usage is down to lowThreshold%. Never
 * an image in use, a pinned one (the pause/sandbox image), or one first seen less than minAge ago.
 * The records live in ROOT/image-gc.json, so a restarted agent keeps the last-used times.
 */
import { PeriodicTask, invalidArgument, silentLogger, writeJsonAtomic, type Logger, messageOf } from '../../lib/index.js';
import { readFile, statfs } from 'node:fs/promises';
import type { CriClient, Image__Output as Image } from '../../cri/index.js';

/** The kubelet's defaults. */
export const DEFAULT_IMAGE_GC_HIGH_THRESHOLD = 85;
export const DEFAULT_IMAGE_GC_LOW_THRESHOLD = 80;
export const DEFAULT_IMAGE_MINIMUM_GC_AGE_MS = 2 * 60_000;
/** How often images are detected and the thresholds checked (the kubelet: 30 s cache, 5 min GC). */
export const DEFAULT_IMAGE_GC_PERIOD_MS = 30_000;

export interface ImageGcPolicy {
  /** Percent of the image filesystem used at which GC starts (100 disables it). */
  highThresholdPercent: number;
  /** Percent GC frees down to. */
  lowThresholdPercent: number;
  /** Images first seen more recently than this are never removed. */
  minAgeMs: number;
}

/** Checks the policy as the kubelet does. */
export function checkImageGcPolicy(p: ImageGcPolicy): void {
  const pct = (v: number, flag: string) => {
    if (!Number.isInteger(v) || v < 0 || v > 100) throw invalidArgument(`${flag} must be an integer from 0 to 100, got ${v}`);
  };
  pct(p.highThresholdPercent, '--image-gc-high-threshold');
  pct(p.lowThresholdPercent, '--image-gc-low-threshold');
  if (p.lowThresholdPercent > p.highThresholdPercent) {
    throw invalidArgument(`--image-gc-low-threshold (${p.lowThresholdPercent}) must not be above --image-gc-high-threshold (${p.highThresholdPercent})`);
  }
  if (!Number.isFinite(p.minAgeMs) || p.minAgeMs < 0) throw invalidArgument(`--image-minimum-gc-age must not be negative`);
}

/** Capacity and free space of a filesystem (statfs). */
export interface FsStats {
  capacityBytes: number;
  availableBytes: number;
}

/** statfs of the filesystem holding path: capacity and what unprivileged users may still use (as df). */
export async function statFs(path: string): Promise<FsStats> {
  const s = await statfs(path);
  return { capacityBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize };
}

/** What the manager remembers of one image (ms since the epoch). */
export interface ImageRecordTimes {
  firstDetected: number;
  /** 0: never seen in use. */
  lastUsed: number;
}

/** One image as GC sees it. */
export interface GcCandidate {
  id: string;
  size: number;
  firstDetected: number;
  lastUsed: number;
}

/**
 * The images to remove to free `bytes`, in order: not in use, not pinned, old enough, least
 * recently used first (then first detected), until their sizes add up to bytes.
 */
export function selectImagesToRemove(
  images: readonly (GcCandidate & { inUse: boolean; pinned: boolean })[],
  bytes: number,
  now: number,
  minAgeMs: number,
): GcCandidate[] {
  const candidates = images
    .filter((i) => !i.inUse && !i.pinned && now - i.firstDetected >= minAgeMs)
    .sort((a, b) => a.lastUsed - b.lastUsed || a.firstDetected - b.firstDetected || a.id.localeCompare(b.id));
  const out: GcCandidate[] = [];
  let freed = 0;
  for (const c of candidates) {
    if (freed >= bytes) break;
    out.push(c);
    freed += c.size;
  }
  return out;
}

/** Bytes to free for usage to come down to lowPercent, when it is at least highPercent; 0 otherwise. */
export function bytesToFree(fs: FsStats, policy: ImageGcPolicy): number {
  if (fs.capacityBytes <= 0 || policy.highThresholdPercent >= 100) return 0;
  const used = fs.capacityBytes - fs.availableBytes;
  const usagePercent = (used * 100) / fs.capacityBytes;
  if (usagePercent < policy.highThresholdPercent) return 0;
  return Math.max(0, Math.ceil(used - (fs.capacityBytes * policy.lowThresholdPercent) / 100));
}

export interface ImageGcOptions {
  cri: Pick<CriClient, 'runtime' | 'image'>;
  policy?: Partial<ImageGcPolicy>;
  /** Where the records are kept (ROOT/image-gc.json); none: in memory only. */
  stateFile?: string;
  /** The image filesystem's statfs; default: statfs of the mountpoint ImageFsInfo names. */
  imageFs?: () => Promise<FsStats>;
  now?: () => number;
  intervalMs?: number;
  logger?: Logger;
}

export interface GcResult {
  removed: string[];
  freedBytes: number;
}

export class ImageGcManager {
  readonly policy: ImageGcPolicy;
  private readonly now: () => number;
  private readonly logger: Logger;
  private records = new Map<string, ImageRecordTimes>();
  private loaded = false;
  private readonly loop = new PeriodicTask(() => this.garbageCollect(), () => this.opts.intervalMs ?? DEFAULT_IMAGE_GC_PERIOD_MS, (err) => this.logger.warn({ err: String(err) }, 'image garbage collection failed'));
  private busy: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ImageGcOptions) {
    this.policy = {
      highThresholdPercent: opts.policy?.highThresholdPercent ?? DEFAULT_IMAGE_GC_HIGH_THRESHOLD,
      lowThresholdPercent: opts.policy?.lowThresholdPercent ?? DEFAULT_IMAGE_GC_LOW_THRESHOLD,
      minAgeMs: opts.policy?.minAgeMs ?? DEFAULT_IMAGE_MINIMUM_GC_AGE_MS,
    };
    checkImageGcPolicy(this.policy);
    this.now = opts.now ?? Date.now;
    this.logger = opts.logger ?? silentLogger;
  }

  /** Detects and checks the thresholds every interval until stop(). */
  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** The image filesystem's figures. */
  async imageFsStats(): Promise<FsStats> {
    if (this.opts.imageFs) return this.opts.imageFs();
    const info = await this.opts.cri.image.ImageFsInfo({});
    const mountpoint = info.image_filesystems[0]?.fs_id?.mountpoint;
    if (!mountpoint) throw invalidArgument('the runtime reported no image filesystem (ImageFsInfo)');
    return statFs(mountpoint);
  }

  /** One round: detect, and free space down to the low threshold when above the high one. */
  garbageCollect(): Promise<GcResult> {
    return this.serial(async () => {
      const images = await this.detect();
      const fs = await this.imageFsStats();
      const need = bytesToFree(fs, this.policy);
      if (need === 0) return { removed: [], freedBytes: 0 };
      const usage = Math.round(((fs.capacityBytes - fs.availableBytes) * 100) / fs.capacityBytes);
      this.logger.info({ usagePercent: usage, highThresholdPercent: this.policy.highThresholdPercent, bytesToFree: need }, 'image filesystem usage above the high threshold: removing unused images');
      const r = await this.freeSpace(images, need);
      if (r.freedBytes < need) this.logger.warn({ freedBytes: r.freedBytes, wanted: need }, 'image garbage collection could not free enough space');
      return r;
    });
  }

  /** Removes every image GC may remove (disk pressure on the image filesystem: the eviction manager's reclaim). */
  deleteUnusedImages(): Promise<GcResult> {
    return this.serial(async () => this.freeSpace(await this.detect(), Number.POSITIVE_INFINITY));
  }

  /** The records (tests, debugging). */
  times(): ReadonlyMap<string, ImageRecordTimes> {
    return this.records;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.busy.then(fn, fn);
    this.busy = run.catch(() => undefined);
    return run;
  }

  /** Lists images and containers, updates the records; returns the images with inUse. */
  private async detect(): Promise<(GcCandidate & { inUse: boolean; pinned: boolean })[]> {
    await this.load();
    const [{ images }, { containers }] = await Promise.all([this.opts.cri.image.ListImages({}), this.opts.cri.runtime.ListContainers({})]);
    const now = this.now();
    const used = new Set<string>();
    for (const c of containers) for (const ref of [c.image?.image, c.image_ref, c.image_id]) if (ref) used.add(ref);
    const inUse = (i: Image) => used.has(i.id) || i.repo_tags.some((t) => used.has(t)) || i.repo_digests.some((d) => used.has(d));
    const seen = new Set<string>();
    const out: (GcCandidate & { inUse: boolean; pinned: boolean })[] = [];
    for (const image of images) {
      seen.add(image.id);
      const rec = this.records.get(image.id) ?? { firstDetected: now, lastUsed: 0 };
      const busy = inUse(image);
      if (busy) rec.lastUsed = now;
      this.records.set(image.id, rec);
      out.push({ id: image.id, size: Number(image.size ?? 0), firstDetected: rec.firstDetected, lastUsed: rec.lastUsed, inUse: busy, pinned: image.pinned === true });
    }
    for (const id of [...this.records.keys()]) if (!seen.has(id)) this.records.delete(id);
    await this.save();
    return out;
  }

  private async freeSpace(images: (GcCandidate & { inUse: boolean; pinned: boolean })[], bytes: number): Promise<GcResult> {
    const removed: string[] = [];
    let freedBytes = 0;
    for (const image of selectImagesToRemove(images, bytes, this.now(), this.policy.minAgeMs)) {
      try {
        await this.opts.cri.image.RemoveImage({ image: { image: image.id } });
      } catch (err) {
        // In use by a container created since the list, or removed already: the next round decides again.
        this.logger.warn({ image: image.id, err: messageOf(err) }, 'cannot remove an unused image');
        continue;
      }
      this.records.delete(image.id);
      removed.push(image.id);
      freedBytes += image.size;
      this.logger.info({ image: image.id, size: image.size, lastUsed: image.lastUsed ? new Date(image.lastUsed).toISOString() : 'never' }, 'removed an unused image');
    }
    if (removed.length > 0) await this.save();
    return { removed, freedBytes };
  }

  private async load(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    if (!this.opts.stateFile) return;
    const text = await readFile(this.opts.stateFile, 'utf8').catch(() => '');
    if (!text) return;
    try {
      const data = JSON.parse(text) as { images?: Record<string, ImageRecordTimes> };
      for (const [id, t] of Object.entries(data.images ?? {})) {
        if (typeof t?.firstDetected === 'number' && typeof t.lastUsed === 'number') this.records.set(id, { firstDetected: t.firstDetected, lastUsed: t.lastUsed });
      }
    } catch (err) {
      this.logger.warn({ file: this.opts.stateFile, err: String(err) }, 'ignoring unreadable image GC records');
    }
  }

  private async save(): Promise<void> {
    if (!this.opts.stateFile) return;
    await writeJsonAtomic(this.opts.stateFile, { images: Object.fromEntries(this.records) });
  }
}
