import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  failedPrecondition,
  invalidArgument,
  KeyedMutex,
  notFound,
  silentLogger,
  wrap,
  writeJsonAtomic,
  type Logger,
  pathExists,
} from '../../lib/index.js';
import {
  extractArchive,
  isOciLayout,
  planDockerSave,
  planOciLayout,
  type ArchiveImage,
  type LayerInfo,
} from './archive-import.js';
import { selectCredentials, type Credentials, type RegistryAuth } from './auth.js';
import { BlobStore } from './blob-store.js';
import { parseDigest } from './digest.js';
import { resolveEndpoints, type RegistryEndpoint } from './endpoints.js';
import { mountPointOf, treeUsage } from './fs-usage.js';
import { bodyChunks, nodeHttpFetch, type FetchLike } from './http-transport.js';
import { applyLayer } from './layer-apply.js';
import { LayerWorker, WORKER_IDLE_MS, WORKER_MIN_BYTES } from './layer-worker.js';
import {
  choosePlatformManifest,
  hostPlatform,
  imageUser,
  MAX_CONFIG_BYTES,
  parseImageConfig,
  parseManifestDocument,
  type Descriptor,
  type ImageConfig,
  type ParsedImageConfig,
  type Platform,
} from './manifest.js';
import { normalizeReference, tryNormalizeReference, type ImageReference } from './reference.js';
import { emptyRegistriesConfig, type RegistriesConfig } from './registries-config.js';
import { RegistryClient } from './registry-client.js';

export type { LayerInfo };

/**
 * How far a pull is, as its listeners see it. Bytes are the layers' compressed bytes as they come
 * off the network (a layer already in the store counts whole at once). A pull has two phases that
 * overlap: layers download (up to LAYER_DOWNLOADS at a time) and are applied one after the other, in
 * order, each as soon as it and the layers below it are there.
 */
export interface PullProgress {
  /** The normalised reference being pulled. */
  image: string;
  /** resolving: manifests and config; fetching: layers downloading (or applying); done: recorded. */
  phase: 'resolving' | 'fetching' | 'done';
  layersTotal: number;
  /** Layers downloaded and verified (digest and size). */
  layersFetched: number;
  /** Layers applied to the rootfs. */
  layersApplied: number;
  bytesTotal: number;
  bytesFetched: number;
}

/** Receives progress of a pull; called often (per network chunk): keep it cheap. */
export type PullProgressListener = (p: PullProgress) => void;

/** Layers downloaded at the same time (containerd's default max_concurrent_downloads is 3 too). */
const LAYER_DOWNLOADS = 3;

/** An image in the store, as callers see it (a copy: changing it changes nothing). */
export interface ImageRecord {
  /** `sha256:<config digest hex>`. */
  id: string;
  /** Normalised `registry/repository:tag` names pointing at this image. */
  repoTags: string[];
  /** `registry/repository@sha256:<manifest digest>` names. */
  repoDigests: string[];
  /** Bytes: the sum of the (compressed) layer sizes. */
  size: number;
  /** The image config's user as a uid when numeric... */
  uid?: number;
  /** ...else as a name ('' when the image names no user or a numeric one). */
  username: string;
  config: ImageConfig;
  os: string;
  architecture: string;
  /** True when one of the store's pinned references (e.g. the pause image) names this image. */
  pinned: boolean;
  /** When the image was first stored (ms since the epoch). */
  createdAt: number;
  /** The unpacked, read-only root filesystem (an overlayfs lowerdir). */
  rootfs: string;
  /** Digest of the image manifest for this platform (under an index, the chosen manifest). */
  manifestDigest: string;
  layers: LayerInfo[];
}

/** Image filesystem usage for CRI ImageFsInfo. */
export interface ImageFsUsage {
  mountpoint: string;
  usedBytes: number;
  inodesUsed: number;
  /** When measured (ms since the epoch). */
  timestamp: number;
}

/** Options of an ImageStore. */
export interface ImageStoreOptions {
  /** Store root, e.g. /var/lib/corelet/images. */
  root: string;
  registries?: RegistriesConfig;
  logger?: Logger;
  /** HTTP transport (default: node:http/https with per-registry TLS). */
  fetchImpl?: FetchLike;
  /** chown layer entries to their owners (default: when running as root). */
  preserveOwner?: boolean;
  /** Platform picked from manifest lists (default: this host's, linux/amd64 on x64). */
  platform?: Platform;
  /** References reported as pinned (e.g. the sandbox pause image); `PREFIX*` pins every name it prefixes. */
  pinned?: readonly string[];
  /** Refuses remove() while this says a container uses the image. */
  isInUse?: (imageId: string) => boolean | Promise<boolean>;
  /** How long fsInfo() reuses a measurement (default 5000 ms). */
  fsInfoCacheMs?: number;
  /** mountinfo to find the store's mount point in (default /proc/self/mountinfo). */
  mountinfoPath?: string;
  /**
   * Where layers are applied: 'auto' (default) in a worker thread for images of WORKER_MIN_BYTES or
   * more (the downloads keep the event loop), else on the event loop; 'always'; 'never'.
   */
  unpackWorker?: 'auto' | 'always' | 'never';
}

/** What images/<hex>.json holds. */
interface StoredImage {
  version: 1;
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  config: ImageConfig;
  os: string;
  architecture: string;
  createdAt: number;
  updatedAt: number;
  manifestDigest: string;
  /** Every blob the image references (documents and layers), for garbage collection. */
  blobs: string[];
  layers: LayerInfo[];
}

/** What install() needs: all blobs already in the blob store. */
interface InstallSpec {
  id: string;
  config: ParsedImageConfig;
  layers: LayerInfo[];
  manifestDigest: string;
  blobs: string[];
  repoTags: string[];
  repoDigests: string[];
}

const ID_RE = /^(?:sha256:)?([a-f0-9]{64})$/;
const META_LOCK = 'meta';

/**
 * The image store: pulls from registries (mirrors, auth, TLS), imports archives, keeps verified
 * blobs, one unpacked read-only rootfs per image and a JSON record per image, under one root:
 *
 *     root/blobs/sha256/<hex>   content-addressed blobs (manifests, configs, layers)
 *     root/images/<hex>.json    image records (written atomically)
 *     root/rootfs/<hex>/        unpacked rootfs of image sha256:<hex>
 *     root/tmp/                 downloads and unpacks in progress (emptied by init)
 *
 * Concurrency: pulls of one reference share one download; work on one image id is serialised; every
 * change to records runs under one metadata lock.
 */
export class ImageStore {
  private readonly root: string;
  private readonly registries: RegistriesConfig;
  private readonly logger: Logger;
  private readonly client: RegistryClient;
  private readonly blobs: BlobStore;
  private readonly platform: Platform;
  private readonly preserveOwner: boolean;
  private readonly pinned: Set<string>;
  private readonly pinnedPrefixes: string[];
  private readonly images = new Map<string, StoredImage>();
  /** Image id → how many hold()s keep it from remove(). */
  private readonly holds = new Map<string, number>();
  private readonly pulls = new Map<string, { promise: Promise<ImageRecord>; listeners: Set<PullProgressListener>; last?: PullProgress }>();
  private readonly downloads = new Map<string, Promise<void>>();
  /** Blobs in-flight pulls and imports rely on: garbage collection leaves them alone. */
  private readonly held = new Map<string, number>();
  private readonly locks = new KeyedMutex();
  private fsCache: ImageFsUsage | undefined;
  /** The layer worker (see layer-worker.ts), its users, and the timer that stops it when idle. */
  private layerWorker: LayerWorker | undefined;
  private layerWorkerUsers = 0;
  private layerWorkerIdle: NodeJS.Timeout | undefined;

  constructor(private readonly opts: ImageStoreOptions) {
    this.root = opts.root;
    this.registries = opts.registries ?? emptyRegistriesConfig();
    this.logger = opts.logger ?? silentLogger;
    this.client = new RegistryClient(opts.fetchImpl ?? nodeHttpFetch, this.logger);
    this.blobs = new BlobStore(join(this.root, 'blobs'), this.tmpDir);
    this.platform = opts.platform ?? hostPlatform();
    this.preserveOwner = opts.preserveOwner ?? process.getuid?.() === 0;
    this.pinned = new Set((opts.pinned ?? []).filter((r) => !r.endsWith('*')).map((r) => normalizeReference(r).canonical));
    this.pinnedPrefixes = (opts.pinned ?? []).filter((r) => r.endsWith('*')).map((r) => r.slice(0, -1));
  }

  private get tmpDir(): string {
    return join(this.root, 'tmp');
  }

  private metaPath(id: string): string {
    return join(this.root, 'images', `${parseDigest(id).hex}.json`);
  }

  private rootfsDir(id: string): string {
    return join(this.root, 'rootfs', parseDigest(id).hex);
  }

  /**
   * Creates the folders, empties tmp/, loads the records, and removes what no record owns (rootfs
   * folders and blobs left by an interrupted pull or removal).
   */
  async init(): Promise<void> {
    for (const d of ['images', 'rootfs']) await mkdir(join(this.root, d), { recursive: true });
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
    await this.blobs.init();
    this.images.clear();

    for (const name of await readdir(join(this.root, 'images'))) {
      if (!name.endsWith('.json')) continue;
      const path = join(this.root, 'images', name);
      try {
        const rec = JSON.parse(await readFile(path, 'utf8')) as StoredImage;
        if (rec.version !== 1 || `${rec.id.slice('sha256:'.length)}.json` !== name) throw new Error('not an image record');
        await stat(this.rootfsDir(rec.id));
        this.images.set(rec.id, rec);
      } catch (err) {
        this.logger.warn({ path, err: (err as Error).message }, 'dropping unusable image record');
        await rm(path, { force: true });
      }
    }
    // A crash while moving a tag can leave it on two images: the newest claim wins.
    const owner = new Map<string, StoredImage>();
    for (const rec of this.images.values()) {
      for (const tag of rec.repoTags) {
        const other = owner.get(tag);
        if (!other || other.updatedAt < rec.updatedAt) owner.set(tag, rec);
      }
    }
    for (const rec of this.images.values()) {
      const kept = rec.repoTags.filter((t) => owner.get(t) === rec);
      if (kept.length !== rec.repoTags.length) {
        rec.repoTags = kept;
        await this.persist(rec);
      }
    }
    const known = new Set([...this.images.values()].map((r) => parseDigest(r.id).hex));
    for (const name of await readdir(join(this.root, 'rootfs'))) {
      if (!known.has(name)) await rm(join(this.root, 'rootfs', name), { recursive: true, force: true });
    }
    await this.collectBlobs(await this.blobs.list());
    this.logger.info({ root: this.root, images: this.images.size }, 'image store ready');
  }

  /**
   * Pulls an image (docker-style reference) from its registry or configured mirrors, verifying every
   * blob, unpacks it and records it. Concurrent pulls of one reference share the work. Errors:
   * InvalidArgument (bad reference, digest mismatch, hostile layer), NotFound (unknown image or
   * tag), FailedPrecondition (access denied), Unavailable (network, registry down).
   */
  async pull(ref: string, auth?: RegistryAuth, onProgress?: PullProgressListener): Promise<ImageRecord> {
    const r = normalizeReference(ref);
    let inflight = this.pulls.get(r.canonical);
    if (!inflight) {
      const listeners = new Set<PullProgressListener>();
      const entry: { promise: Promise<ImageRecord>; listeners: Set<PullProgressListener>; last?: PullProgress } = {
        promise: Promise.resolve(undefined as unknown as ImageRecord),
        listeners,
      };
      const report = (p: PullProgress) => {
        entry.last = p;
        for (const l of listeners) l(p);
      };
      entry.promise = this.pullFromEndpoints(r, auth, report).finally(() => this.pulls.delete(r.canonical));
      inflight = entry;
      this.pulls.set(r.canonical, inflight);
    }
    if (onProgress) {
      inflight.listeners.add(onProgress);
      if (inflight.last) onProgress({ ...inflight.last });
    }
    try {
      return structuredClone(await inflight.promise);
    } finally {
      if (onProgress) inflight.listeners.delete(onProgress);
    }
  }

  private async pullFromEndpoints(r: ImageReference, auth: RegistryAuth | undefined, report: PullProgressListener): Promise<ImageRecord> {
    const endpoints = resolveEndpoints(this.registries, r);
    const failures: string[] = [];
    let last: unknown;
    for (const ep of endpoints) {
      try {
        const creds = selectCredentials(ep, r.registry, auth);
        const rec = await this.pullFrom(ep, r, creds, report);
        this.logger.info({ image: r.canonical, id: rec.id, from: ep.apiRoot }, 'pulled image');
        return rec;
      } catch (err) {
        last = err;
        failures.push(`${ep.apiRoot}: ${(err as Error).message}`);
        this.logger.warn({ image: r.canonical, endpoint: ep.apiRoot, err: (err as Error).message }, 'pull from endpoint failed');
      }
    }
    const others = failures.slice(0, -1);
    const e = wrap(last, `pulling ${r.canonical}`);
    if (others.length > 0) e.message += ` (mirrors tried first: ${others.join('; ')})`;
    throw e;
  }

  private async pullFrom(ep: RegistryEndpoint, r: ImageReference, creds: Credentials | undefined, report: PullProgressListener): Promise<ImageRecord> {
    const what = `${r.canonical} from ${ep.apiRoot}`;
    const progress: PullProgress = { image: r.canonical, phase: 'resolving', layersTotal: 0, layersFetched: 0, layersApplied: 0, bytesTotal: 0, bytesFetched: 0 };
    const tell = () => report({ ...progress });
    tell();
    const top = await this.client.getManifest(ep, r.digest ?? r.tag!, creds);
    const documents = [{ digest: top.digest, bytes: top.bytes }];
    let doc = parseManifestDocument(top.bytes, top.contentType, `manifest of ${what}`);
    let manifestDigest = top.digest;
    if (doc.kind === 'index') {
      const chosen = choosePlatformManifest(doc.manifests, this.platform, `manifest list of ${what}`);
      const m = await this.client.getManifest(ep, chosen.digest, creds);
      if (m.bytes.length !== chosen.size) throw invalidArgument(`manifest ${chosen.digest} of ${what}: size differs from the index`);
      documents.push({ digest: m.digest, bytes: m.bytes });
      doc = parseManifestDocument(m.bytes, chosen.mediaType || m.contentType, `manifest ${chosen.digest} of ${what}`);
      if (doc.kind !== 'manifest') throw invalidArgument(`manifest ${chosen.digest} of ${what}: nested indexes are not supported`);
      manifestDigest = m.digest;
    }
    const manifest = doc;
    const id = manifest.config.digest;
    const blobs = [...documents.map((d) => d.digest), id, ...manifest.layers.map((l) => l.digest)];
    return this.holding(blobs, async () => {
      const configBytes = await this.fetchConfig(ep, manifest.config, creds, what);
      const config = parseImageConfig(configBytes, `config ${id} of ${what}`);
      if (config.diffIds.length !== manifest.layers.length) {
        throw invalidArgument(`${what}: manifest has ${manifest.layers.length} layers, config has ${config.diffIds.length} diff ids`);
      }
      for (const d of documents) await this.blobs.writeBytes(d.digest, d.bytes, `manifest ${d.digest} of ${what}`);
      progress.phase = 'fetching';
      progress.layersTotal = manifest.layers.length;
      progress.bytesTotal = manifest.layers.reduce((n, l) => n + l.size, 0);
      tell();
      // Up to LAYER_DOWNLOADS at a time, in layer order: the first layer is first to be applied.
      const fetchLayers = () => {
        const slots = new Semaphore(LAYER_DOWNLOADS);
        return manifest.layers.map((layer) =>
          slots.run(async () => {
            let seen = 0;
            await this.download(ep, layer, creds, what, (n) => {
              seen += n;
              progress.bytesFetched += n;
              tell();
            });
            progress.bytesFetched += layer.size - seen; // already stored, or fetched by another pull
            progress.layersFetched++;
            tell();
          }),
        );
      };
      const onApplied = () => {
        progress.layersApplied++;
        tell();
      };
      const rec = await this.install({
        id,
        config,
        layers: manifest.layers.map((l, i) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType, diffId: config.diffIds[i]! })),
        manifestDigest,
        blobs,
        repoTags: r.digest === undefined ? [`${r.name}:${r.tag}`] : [],
        repoDigests: [`${r.name}@${top.digest}`],
      }, fetchLayers, onApplied);
      progress.phase = 'done';
      progress.layersFetched = progress.layersTotal;
      progress.layersApplied = progress.layersTotal;
      progress.bytesFetched = progress.bytesTotal;
      tell();
      return rec;
    });
  }

  private async fetchConfig(ep: RegistryEndpoint, d: Descriptor, creds: Credentials | undefined, what: string): Promise<Buffer> {
    if (d.size > MAX_CONFIG_BYTES) throw invalidArgument(`config ${d.digest} of ${what} is larger than ${MAX_CONFIG_BYTES} bytes`);
    await this.download(ep, d, creds, what);
    return this.blobs.read(d.digest);
  }

  /** Downloads a blob into the store unless there; concurrent downloads of one digest share the work. */
  private async download(
    ep: RegistryEndpoint,
    d: Descriptor,
    creds: Credentials | undefined,
    what: string,
    onBytes?: (n: number) => void,
  ): Promise<void> {
    if (await this.blobs.has(d.digest)) return;
    let p = this.downloads.get(d.digest);
    if (!p) {
      p = (async () => {
        const res = await this.client.getBlob(ep, d.digest, creds);
        const body = bodyChunks(res);
        await this.blobs.writeStream(d.digest, d.size, onBytes ? counted(body, onBytes) : body, `blob ${d.digest} of ${what}`);
      })().finally(() => this.downloads.delete(d.digest));
      this.downloads.set(d.digest, p);
    }
    await p;
  }

  /** Runs fn with blobs protected from garbage collection. */
  private async holding<T>(digests: string[], fn: () => Promise<T>): Promise<T> {
    for (const d of digests) this.held.set(d, (this.held.get(d) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      for (const d of digests) {
        const n = (this.held.get(d) ?? 1) - 1;
        if (n <= 0) this.held.delete(d);
        else this.held.set(d, n);
      }
    }
  }

  /**
   * Unpacks the image (unless already there) and records it with its new names. A tag that pointed
   * at another image moves here. Nothing of an existing image changes until this image is complete.
   * fetchLayers, if given, starts bringing the layer blobs in (one promise per layer, in layer
   * order); it runs only when the image must be unpacked (under the image's lock, so a concurrent
   * remove cannot take the rootfs away in between). Each layer is applied as soon as its blob is
   * there and the layers below it are applied; every download has settled before install returns.
   */
  private install(spec: InstallSpec, fetchLayers?: () => Promise<void>[], onApplied?: () => void): Promise<ImageRecord> {
    return this.locks.run(spec.id, async () => {
      const rootfs = this.rootfsDir(spec.id);
      if (!(await pathExists(rootfs))) {
        const ready = fetchLayers?.() ?? [];
        for (const p of ready) p.catch(() => undefined); // awaited below; never an unhandled rejection
        try {
          await this.unpack(spec.id, spec.layers, ready, onApplied);
        } finally {
          await Promise.allSettled(ready);
        }
      }
      return this.locks.run(META_LOCK, async () => {
        const now = Date.now();
        const existing = this.images.get(spec.id);
        const rec: StoredImage = existing
          ? structuredClone(existing)
          : {
              version: 1,
              id: spec.id,
              repoTags: [],
              repoDigests: [],
              size: spec.layers.reduce((n, l) => n + l.size, 0),
              config: spec.config.config,
              os: spec.config.os,
              architecture: spec.config.architecture,
              createdAt: now,
              updatedAt: now,
              manifestDigest: spec.manifestDigest,
              blobs: [],
              layers: spec.layers,
            };
        rec.repoTags = union(rec.repoTags, spec.repoTags);
        rec.repoDigests = union(rec.repoDigests, spec.repoDigests);
        rec.blobs = union(rec.blobs, spec.blobs);
        rec.updatedAt = now;
        await this.persist(rec);
        this.images.set(rec.id, rec);
        for (const other of this.images.values()) {
          if (other.id === rec.id) continue;
          const kept = other.repoTags.filter((t) => !spec.repoTags.includes(t));
          if (kept.length !== other.repoTags.length) {
            other.repoTags = kept;
            other.updatedAt = now;
            await this.persist(other);
            this.logger.info({ id: other.id, tags: spec.repoTags }, 'tag moved to a newer image');
          }
        }
        this.fsCache = undefined;
        return this.toRecord(rec);
      });
    });
  }

  /** Applies the layers in order into a temp folder, then renames it into place. */
  private async unpack(id: string, layers: LayerInfo[], ready: Promise<void>[] = [], onApplied?: () => void): Promise<void> {
    const tmp = await mkdtemp(join(this.tmpDir, 'unpack-'));
    const mode = this.opts.unpackWorker ?? 'auto';
    const bytes = layers.reduce((n, l) => n + l.size, 0);
    const worker = mode === 'always' || (mode === 'auto' && bytes >= WORKER_MIN_BYTES) ? this.acquireLayerWorker() : undefined;
    try {
      await chmod(tmp, 0o755);
      for (const [i, layer] of layers.entries()) {
        await ready[i];
        const opts = { preserveOwner: this.preserveOwner, diffId: layer.diffId, what: layer.digest };
        if (worker) {
          await worker.apply(tmp, this.blobs.path(layer.digest), opts);
        } else {
          const input = this.blobs.open(layer.digest);
          try {
            await applyLayer(tmp, input, { logger: this.logger, ...opts });
          } finally {
            input.destroy();
          }
        }
        onApplied?.();
      }
      await rename(tmp, this.rootfsDir(id));
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw wrap(err, `unpacking image ${id}`);
    } finally {
      if (worker) this.releaseLayerWorker();
    }
  }

  private acquireLayerWorker(): LayerWorker {
    clearTimeout(this.layerWorkerIdle);
    this.layerWorkerIdle = undefined;
    if (!this.layerWorker || this.layerWorker.failed) this.layerWorker = new LayerWorker(this.logger);
    this.layerWorker.ref(true);
    this.layerWorkerUsers++;
    return this.layerWorker;
  }

  private releaseLayerWorker(): void {
    if (--this.layerWorkerUsers > 0 || !this.layerWorker) return;
    const worker = this.layerWorker;
    worker.ref(false);
    this.layerWorkerIdle = setTimeout(() => {
      if (this.layerWorker === worker) this.layerWorker = undefined;
      void worker.close();
    }, WORKER_IDLE_MS);
    this.layerWorkerIdle.unref();
  }

  private async persist(rec: StoredImage): Promise<void> {
    await writeJsonAtomic(this.metaPath(rec.id), rec);
  }

  private toRecord(rec: StoredImage): ImageRecord {
    const names = [...rec.repoTags, ...rec.repoDigests];
    const pinned = this.pinned.has(rec.id) || names.some((n) => this.pinned.has(n) || this.pinnedPrefixes.some((p) => n.startsWith(p)));
    return structuredClone({
      id: rec.id,
      repoTags: rec.repoTags,
      repoDigests: rec.repoDigests,
      size: rec.size,
      ...imageUser(rec.config.user),
      config: rec.config,
      os: rec.os,
      architecture: rec.architecture,
      pinned,
      createdAt: rec.createdAt,
      rootfs: this.rootfsDir(rec.id),
      manifestDigest: rec.manifestDigest,
      layers: rec.layers,
    });
  }

  /**
   * Finds an image by full id (`sha256:<hex>` or `<hex>`), repo tag or repo digest (normalised, so
   * `busybox` finds docker.io/library/busybox:latest), or unique id prefix.
   */
  private lookup(refOrId: string): { image: StoredImage; via: 'id' | 'tag' | 'digest'; name?: string } | undefined {
    const full = ID_RE.exec(refOrId);
    if (full) {
      const image = this.images.get(`sha256:${full[1]}`);
      if (image) return { image, via: 'id' };
    }
    const ref = tryNormalizeReference(refOrId);
    if (ref) {
      if (ref.digest !== undefined) {
        const name = `${ref.name}@${ref.digest}`;
        for (const image of this.images.values()) if (image.repoDigests.includes(name)) return { image, via: 'digest', name };
      } else {
        const name = `${ref.name}:${ref.tag}`;
        for (const image of this.images.values()) if (image.repoTags.includes(name)) return { image, via: 'tag', name };
      }
    }
    const prefix = /^(?:sha256:)?([a-f0-9]+)$/.exec(refOrId)?.[1];
    if (prefix) {
      const matches = [...this.images.values()].filter((i) => i.id.startsWith(`sha256:${prefix}`));
      if (matches.length === 1) return { image: matches[0]!, via: 'id' };
    }
    return undefined;
  }

  /** The image a reference or id names, or undefined (see lookup rules on get's callers: ImageStatus). */
  get(refOrId: string): ImageRecord | undefined {
    const found = this.lookup(refOrId);
    return found ? this.toRecord(found.image) : undefined;
  }

  /**
   * get(), and remove() refuses the image until release() is called (once; later calls do nothing).
   * Taken in the same tick as the lookup, so no removal can slip between the two.
   */
  hold(refOrId: string): { image: ImageRecord; release(): void } | undefined {
    const found = this.lookup(refOrId);
    if (!found) return undefined;
    const id = found.image.id;
    this.holds.set(id, (this.holds.get(id) ?? 0) + 1);
    let released = false;
    return {
      image: this.toRecord(found.image),
      release: () => {
        if (released) return;
        released = true;
        const n = (this.holds.get(id) ?? 1) - 1;
        if (n > 0) this.holds.set(id, n);
        else this.holds.delete(id);
      },
    };
  }

  /** All images (oldest first), or only the one filter names (reference or id) when given. */
  list(filter?: string): ImageRecord[] {
    if (filter) {
      const one = this.get(filter);
      return one ? [one] : [];
    }
    return [...this.images.values()].sort((a, b) => a.createdAt - b.createdAt).map((r) => this.toRecord(r));
  }

  /**
   * CRI RemoveImage: by id or repo digest removes the image with all its names; by tag, removes
   * only that tag when the image has other tags, else the image. Unknown images are not an error.
   * FailedPrecondition if the isInUse option says a container uses the image.
   */
  async remove(refOrId: string): Promise<void> {
    const first = this.lookup(refOrId);
    if (!first) return;
    await this.locks.run(first.image.id, () =>
      this.locks.run(META_LOCK, async () => {
        const found = this.lookup(refOrId);
        if (!found || found.image.id !== first.image.id) return; // changed while we waited
        const image = found.image;
        if (found.via === 'tag' && image.repoTags.length > 1) {
          image.repoTags = image.repoTags.filter((t) => t !== found.name);
          image.updatedAt = Date.now();
          await this.persist(image);
          this.logger.info({ id: image.id, tag: found.name }, 'untagged image');
          return;
        }
        if (this.opts.isInUse && (await this.opts.isInUse(image.id))) {
          throw failedPrecondition(`image ${image.id} (${image.repoTags.join(', ') || 'untagged'}) is in use by a container (its image or an image volume)`);
        }
        // In the same tick as this check, the image leaves the index: no hold() can find it after.
        if (this.holds.has(image.id)) {
          throw failedPrecondition(`image ${image.id} (${image.repoTags.join(', ') || 'untagged'}) is in use by a container being created`);
        }
        this.images.delete(image.id);
        // Record first: a crash after this leaves only unowned files, which init() removes.
        try {
          await rm(this.metaPath(image.id), { force: true });
        } catch (err) {
          this.images.set(image.id, image);
          throw err;
        }
        await rm(this.rootfsDir(image.id), { recursive: true, force: true });
        await this.collectBlobs(image.blobs);
        this.fsCache = undefined;
        this.logger.info({ id: image.id }, 'removed image');
      }),
    );
  }

  /** Deletes the given blobs unless an image or an in-flight pull still uses them. */
  private async collectBlobs(candidates: string[]): Promise<void> {
    const used = new Set<string>();
    for (const rec of this.images.values()) for (const b of rec.blobs) used.add(b);
    for (const b of candidates) {
      if (!used.has(b) && !this.held.has(b) && !this.downloads.has(b)) await this.blobs.remove(b);
    }
  }

  /** The unpacked rootfs of an image by id (full id, or anything get() accepts). NotFound if unknown. */
  rootfsPath(id: string): string {
    const found = this.lookup(id);
    if (!found) throw notFound(`image ${id} not found`);
    return this.rootfsDir(found.image.id);
  }

  /** Usage of the store's filesystem (walked; cached for fsInfoCacheMs). */
  async fsInfo(): Promise<ImageFsUsage> {
    const maxAge = this.opts.fsInfoCacheMs ?? 5000;
    if (this.fsCache && Date.now() - this.fsCache.timestamp < maxAge) return { ...this.fsCache };
    const usage = await treeUsage(this.root);
    const mountpoint = await mountPointOf(this.root, this.opts.mountinfoPath);
    this.fsCache = { mountpoint, usedBytes: usage.bytes, inodesUsed: usage.inodes, timestamp: Date.now() };
    return { ...this.fsCache };
  }

  /**
   * Loads the images of an archive: an OCI image layout (`skopeo copy ... oci-archive:x.tar:name`;
   * names from io.containerd.image.name or org.opencontainers.image.ref.name) or a `docker save`
   * archive (manifest.json with RepoTags). Same verification and layer safety as pulls.
   */
  async importArchive(file: string): Promise<ImageRecord[]> {
    const work = await mkdtemp(join(this.tmpDir, 'import-'));
    try {
      const contents = await extractArchive(file, work, this.logger);
      let plans: ArchiveImage[];
      if (isOciLayout(contents)) plans = await planOciLayout(contents, this.platform, this.logger);
      else if (contents.has('manifest.json')) plans = await planDockerSave(contents, this.logger);
      else throw invalidArgument(`${file} is neither an OCI image layout nor a docker-save archive`);
      const out: ImageRecord[] = [];
      for (const plan of plans) {
        const blobs = [...plan.documents.map((d) => d.digest), ...plan.layers.map((l) => l.digest)];
        const rec = await this.holding(blobs, async () => {
          for (const d of plan.documents) await this.blobs.writeBytes(d.digest, d.bytes, `archive blob ${d.digest}`);
          for (const l of plan.layerFiles) await this.blobs.adoptFile(l.digest, l.file.file, l.file.digest, `archive layer ${l.digest}`);
          return this.install({
            id: plan.configDigest,
            config: plan.config,
            layers: plan.layers,
            manifestDigest: plan.manifestDigest,
            blobs,
            repoTags: plan.repoTags,
            repoDigests: plan.repoDigests,
          });
        });
        out.push(rec);
      }
      this.logger.info({ file, images: out.map((r) => r.repoTags[0] ?? r.id) }, 'imported image archive');
      return out;
    } catch (err) {
      throw wrap(err, `importing ${file}`);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}

/** Passes chunks through, telling onBytes each one's length. */
async function* counted(chunks: AsyncIterable<Uint8Array>, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    onBytes(chunk.length);
    yield chunk;
  }
}

/** Runs at most n tasks at a time, starting them in call order. */
class Semaphore {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  constructor(private readonly n: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.n) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next) next(); // the slot passes straight to the next task
      else this.active--;
    }
  }
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])];
}

