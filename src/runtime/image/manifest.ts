import { invalidArgument, notFound } from '../../lib/index.js';
import { isDigest } from './digest.js';

/** Media types of the documents and layers we understand. */
export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

/** The Accept header a manifest request sends: indexes and image manifests, OCI and Docker v2. */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.dockerList,
  MediaType.ociManifest,
  MediaType.dockerManifest,
].join(', ');

/** Largest manifest or index we accept (they are a few KB; this stops a hostile registry). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Largest image config we accept (history can make them big, but not this big). */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** A content descriptor (OCI): what a blob is, its digest and size. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** os/architecture[/variant]. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** A parsed manifest document: an index (manifest list) or an image manifest. */
export type ManifestDocument =
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] }
  | { kind: 'manifest'; mediaType: string; config: Descriptor; layers: Descriptor[] };

/** The image config fields the runtime uses (from the OCI image config's `config`). */
export interface ImageConfig {
  user: string;
  env: string[];
  entrypoint: string[];
  cmd: string[];
  workingDir: string;
  stopSignal: string;
  labels: Record<string, string>;
  /** Keys of ExposedPorts, e.g. `80/tcp`. */
  exposedPorts: string[];
  /** Keys of Volumes, e.g. `/data`. */
  volumes: string[];
}

/** The parts of an OCI image config document we read. */
export interface ParsedImageConfig {
  os: string;
  architecture: string;
  config: ImageConfig;
  diffIds: string[];
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJson(bytes: Uint8Array, what: string): Obj {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw invalidArgument(`${what} is not valid JSON: ${(err as Error).message}`, err);
  }
  if (!isObject(doc)) throw invalidArgument(`${what} is not a JSON object`);
  return doc;
}

/** Validates one descriptor, throwing InvalidArgument naming `what`. */
export function parseDescriptor(raw: unknown, what: string): Descriptor {
  if (!isObject(raw)) throw invalidArgument(`${what}: descriptor must be an object`);
  const { mediaType, digest, size, platform, annotations } = raw;
  if (typeof digest !== 'string' || !isDigest(digest)) throw invalidArgument(`${what}: invalid digest ${JSON.stringify(digest)}`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalidArgument(`${what}: invalid size ${JSON.stringify(size)}`);
  }
  if (mediaType !== undefined && typeof mediaType !== 'string') throw invalidArgument(`${what}: invalid mediaType`);
  const d: Descriptor = { mediaType: (mediaType as string | undefined) ?? '', digest, size };
  if (isObject(platform) && typeof platform.os === 'string' && typeof platform.architecture === 'string') {
    d.platform = { os: platform.os, architecture: platform.architecture };
    if (typeof platform.variant === 'string' && platform.variant !== '') d.platform.variant = platform.variant;
  }
  if (isObject(annotations)) {
    d.annotations = Object.fromEntries(Object.entries(annotations).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  }
  return d;
}

/**
 * Parses a manifest or index (Docker v2 schema 2 or OCI). contentType is the registry's
 * Content-Type, used when the document does not say its own mediaType. Schema 1 is refused.
 */
export function parseManifestDocument(bytes: Uint8Array, contentType: string | undefined, what: string): ManifestDocument {
  const doc = parseJson(bytes, what);
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : (contentType ?? '').split(';')[0]!.trim();
  if (doc.schemaVersion === 1 || declared.startsWith('application/vnd.docker.distribution.manifest.v1')) {
    throw invalidArgument(`${what}: Docker schema 1 manifests are not supported`);
  }
  if (doc.schemaVersion !== 2) throw invalidArgument(`${what}: unsupported schemaVersion ${JSON.stringify(doc.schemaVersion)}`);
  // Registries sometimes say application/json or nothing: then the document's shape decides.
  const knownManifest = declared === MediaType.ociManifest || declared === MediaType.dockerManifest;
  const knownIndex = declared === MediaType.ociIndex || declared === MediaType.dockerList;
  const isIndex = knownIndex || (!knownManifest && Array.isArray(doc.manifests));
  if (isIndex) {
    if (!Array.isArray(doc.manifests)) throw invalidArgument(`${what}: index has no manifests list`);
    return {
      kind: 'index',
      mediaType: knownIndex ? declared : MediaType.ociIndex,
      manifests: doc.manifests.map((m, i) => parseDescriptor(m, `${what}: manifests[${i}]`)),
    };
  }
  const isManifest = knownManifest || isObject(doc.config);
  if (!isManifest) throw invalidArgument(`${what}: unsupported media type ${JSON.stringify(declared)}`);
  if (!Array.isArray(doc.layers)) throw invalidArgument(`${what}: manifest has no layers list`);
  const config = parseDescriptor(doc.config, `${what}: config`);
  const layers = doc.layers.map((l, i) => parseDescriptor(l, `${what}: layers[${i}]`));
  for (const [i, l] of layers.entries()) {
    if (!isSupportedLayerType(l.mediaType)) {
      throw invalidArgument(`${what}: layers[${i}] has unsupported media type ${JSON.stringify(l.mediaType)}`);
    }
  }
  return { kind: 'manifest', mediaType: knownManifest ? declared : MediaType.ociManifest, config, layers };
}

/** Layer media types we can apply: tar, tar+gzip (OCI, Docker; non-distributable variants too). */
export function isSupportedLayerType(mediaType: string): boolean {
  return (
    mediaType === MediaType.ociLayer ||
    mediaType === MediaType.ociLayerGzip ||
    mediaType === MediaType.dockerLayer ||
    mediaType === MediaType.dockerLayerGzip ||
    mediaType === MediaType.dockerForeignLayerGzip ||
    mediaType === 'application/vnd.oci.image.layer.nondistributable.v1.tar' ||
    mediaType === 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'
  );
}

/** The platform of this host in OCI terms (linux/amd64 on x64). */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  const p: Platform = { os: 'linux', architecture: arch[process.arch] ?? process.arch };
  if (process.arch === 'arm') {
    const v = (process.config.variables as Record<string, unknown>).arm_version;
    p.variant = `v${typeof v === 'string' || typeof v === 'number' ? v : '7'}`;
  }
  return p;
}

/**
 * Picks the manifest for a platform from an index: same os and architecture, preferring the exact
 * variant (arm64 without variant counts as v8). NotFound when the index has none.
 */
export function choosePlatformManifest(index: Descriptor[], platform: Platform, what: string): Descriptor {
  const normVariant = (p: Platform) => (p.architecture === 'arm64' && !p.variant ? 'v8' : p.variant ?? '');
  const candidates = index.filter(
    (d) => d.platform && d.platform.os === platform.os && d.platform.architecture === platform.architecture,
  );
  const exact = candidates.find((d) => normVariant(d.platform!) === normVariant(platform));
  const chosen = exact ?? candidates.find((d) => !d.platform!.variant) ?? candidates[0];
  if (!chosen) {
    const have = index.map((d) => (d.platform ? `${d.platform.os}/${d.platform.architecture}` : '?')).join(', ');
    throw notFound(`${what}: no image for ${platform.os}/${platform.architecture} in the manifest list (has: ${have || 'none'})`);
  }
  return chosen;
}

/** Parses an image config blob: runtime fields, platform and the layers' diff ids. */
export function parseImageConfig(bytes: Uint8Array, what: string): ParsedImageConfig {
  const doc = parseJson(bytes, what);
  const c = doc.config === null || doc.config === undefined ? {} : doc.config;
  if (!isObject(c)) throw invalidArgument(`${what}: config must be an object`);
  const strList = (key: string): string[] => {
    const v = c[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalidArgument(`${what}: config.${key} must be a list of strings`);
    return v as string[];
  };
  const str = (key: string): string => {
    const v = c[key];
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw invalidArgument(`${what}: config.${key} must be a string`);
    return v;
  };
  const keys = (key: string): string[] => {
    const v = c[key];
    if (v === undefined || v === null) return [];
    if (!isObject(v)) throw invalidArgument(`${what}: config.${key} must be an object`);
    return Object.keys(v);
  };
  const labelsRaw = c.Labels ?? {};
  if (!isObject(labelsRaw)) throw invalidArgument(`${what}: config.Labels must be an object`);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(labelsRaw)) {
    if (typeof v !== 'string') throw invalidArgument(`${what}: config.Labels[${JSON.stringify(k)}] must be a string`);
    labels[k] = v;
  }
  const rootfs = doc.rootfs;
  if (!isObject(rootfs) || !Array.isArray(rootfs.diff_ids)) throw invalidArgument(`${what}: rootfs.diff_ids missing`);
  const diffIds = rootfs.diff_ids.map((d, i) => {
    if (typeof d !== 'string' || !isDigest(d)) throw invalidArgument(`${what}: rootfs.diff_ids[${i}] is not a digest`);
    return d;
  });
  return {
    os: typeof doc.os === 'string' ? doc.os : '',
    architecture: typeof doc.architecture === 'string' ? doc.architecture : '',
    diffIds,
    config: {
      user: str('User'),
      env: strList('Env'),
      entrypoint: strList('Entrypoint'),
      cmd: strList('Cmd'),
      workingDir: str('WorkingDir'),
      stopSignal: str('StopSignal'),
      labels,
      exposedPorts: keys('ExposedPorts'),
      volumes: keys('Volumes'),
    },
  };
}

/** The user part of an image's User (`uid[:gid]` or `name[:group]`): a uid if numeric, else a name. */
export function imageUser(user: string): { uid?: number; username: string } {
  const u = user.split(':')[0] ?? '';
  if (/^\d+$/.test(u)) return { uid: Number(u), username: '' };
  return { username: u };
}
