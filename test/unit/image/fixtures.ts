/**
 * Test fixtures for the image subsystem: a raw tar writer (so tests can build hostile archives no
 * well-behaved tool would write), and an in-memory OCI registry usable as a FetchLike or behind a
 * real node:http server.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { FetchLike, HttpRequest, HttpResponse } from '../../../src/runtime/image/index.js';

export type TarType = 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';

/** One entry of a hand-made tar. */
export interface TarSpec {
  path: string;
  type?: TarType;
  data?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  linkpath?: string;
  mtime?: number;
}

const TYPE_FLAG: Record<TarType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** A ustar header + data for one entry, written byte by byte (names up to 100 characters). */
export function tarEntry(spec: TarSpec): Buffer {
  const type = spec.type ?? 'file';
  const data = type === 'file' ? Buffer.from(spec.data ?? '') : Buffer.alloc(0);
  if (spec.path.length > 100) throw new Error('fixture tar names are limited to 100 characters');
  const h = Buffer.alloc(512);
  h.write(spec.path, 0, 'utf8');
  h.write(octal(spec.mode ?? (type === 'dir' ? 0o755 : 0o644), 8), 100);
  h.write(octal(spec.uid ?? 0, 8), 108);
  h.write(octal(spec.gid ?? 0, 8), 116);
  h.write(octal(data.length, 12), 124);
  h.write(octal(spec.mtime ?? 1700000000, 12), 136);
  h.write(TYPE_FLAG[type], 156);
  if (spec.linkpath !== undefined) h.write(spec.linkpath, 157);
  h.write('ustar\0', 257);
  h.write('00', 263);
  if (type === 'char' || type === 'block') {
    h.write(octal(1, 8), 329);
    h.write(octal(3, 8), 337);
  }
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([h, data, pad]);
}

/** A complete tar (with the end-of-archive marker). */
export function makeTar(entries: TarSpec[]): Buffer {
  return Buffer.concat([...entries.map(tarEntry), Buffer.alloc(1024)]);
}

/** A gzip-compressed tar. */
export function makeTgz(entries: TarSpec[]): Buffer {
  return gzipSync(makeTar(entries));
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Yields a buffer in small chunks (exercises the streaming code paths). */
export async function* chunked(data: Buffer, size = 700): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

/** An image's documents, as a fixture builds them. */
export interface BuiltImage {
  configDigest: string;
  config: Buffer;
  manifestDigest: string;
  manifest: Buffer;
  layers: { digest: string; data: Buffer; diffId: string }[];
}

/** Builds an image from layer tars (gzip-compressed here) and image config fields. */
export function buildImage(
  layerTars: Buffer[],
  config: Record<string, unknown> = {},
  opts: { mediaType?: string; architecture?: string; compress?: boolean } = {},
): BuiltImage {
  const layers = layerTars.map((tar) => {
    const data = opts.compress === false ? tar : gzipSync(tar);
    return { digest: sha256(data), data, diffId: sha256(tar) };
  });
  const configDoc = Buffer.from(
    JSON.stringify({
      architecture: opts.architecture ?? 'amd64',
      os: 'linux',
      config,
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    }),
  );
  const mediaType = opts.mediaType ?? OCI_MANIFEST;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: OCI_CONFIG, digest: sha256(configDoc), size: configDoc.length },
      layers: layers.map((l) => ({
        mediaType: opts.compress === false ? 'application/vnd.oci.image.layer.v1.tar' : OCI_LAYER_GZIP,
        digest: l.digest,
        size: l.data.length,
      })),
    }),
  );
  return { configDigest: sha256(configDoc), config: configDoc, manifestDigest: sha256(manifest), manifest, layers };
}

/** A manifest list over images (each entry: image + platform). */
export function buildIndex(entries: { image: BuiltImage; architecture: string; variant?: string; os?: string }[], mediaType = OCI_INDEX): { digest: string; body: Buffer } {
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: entries.map((e) => ({
        mediaType: OCI_MANIFEST,
        digest: e.image.manifestDigest,
        size: e.image.manifest.length,
        platform: { os: e.os ?? 'linux', architecture: e.architecture, ...(e.variant ? { variant: e.variant } : {}) },
      })),
    }),
  );
  return { digest: sha256(body), body };
}

/** One response of the fake registry. */
export interface FakeResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** What the fake registry demands before serving /v2/. */
export type FakeAuth =
  | { kind: 'none' }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'bearer'; realm: string; service: string; username?: string; password?: string; refreshToken?: string; token: string };

/**
 * An in-memory distribution registry: manifests by repository and tag or digest, blobs by digest.
 * Records every request; can require Basic or Bearer auth (with its own token endpoint at /token).
 */
export class FakeRegistry {
  readonly manifests = new Map<string, { mediaType: string; body: Buffer }>();
  readonly blobs = new Map<string, Buffer>();
  readonly requests: { method: string; path: string; authorization?: string; body?: string }[] = [];
  auth: FakeAuth = { kind: 'none' };
  /** Paths answered with a redirect to this URL prefix + path (for redirect tests). */
  redirectBlobsTo?: string;

  /** Serves image under repo:tag (and by digest). */
  addImage(repo: string, tag: string | undefined, image: BuiltImage, mediaType = OCI_MANIFEST): void {
    this.blobs.set(image.configDigest, image.config);
    for (const l of image.layers) this.blobs.set(l.digest, l.data);
    const m = { mediaType, body: image.manifest };
    this.manifests.set(`${repo}@${image.manifestDigest}`, m);
    if (tag !== undefined) this.manifests.set(`${repo}:${tag}`, m);
  }

  /** Serves an index under repo:tag; its images must be added with addImage(repo, undefined, ...). */
  addIndex(repo: string, tag: string, index: { digest: string; body: Buffer }, mediaType = OCI_INDEX): void {
    const m = { mediaType, body: index.body };
    this.manifests.set(`${repo}@${index.digest}`, m);
    this.manifests.set(`${repo}:${tag}`, m);
  }

  count(pathPart: string): number {
    return this.requests.filter((r) => r.path.includes(pathPart)).length;
  }

  /** Answers one request (method, path with query, headers). */
  handle(method: string, pathWithQuery: string, headers: Record<string, string>, body?: string): FakeResponse {
    const url = new URL(pathWithQuery, 'http://fake');
    const path = url.pathname;
    const authorization = headers.authorization ?? headers.Authorization;
    this.requests.push({ method, path: pathWithQuery, authorization, body });
    const json = (status: number, doc: unknown, extra: Record<string, string> = {}): FakeResponse => ({
      status,
      headers: { 'content-type': 'application/json', ...extra },
      body: Buffer.from(JSON.stringify(doc)),
    });

    if (path === '/token' && this.auth.kind === 'bearer') {
      const a = this.auth;
      if (method === 'POST') {
        const form = new URLSearchParams(body ?? '');
        if (form.get('grant_type') === 'refresh_token' && form.get('refresh_token') === a.refreshToken) {
          return json(200, { access_token: a.token, expires_in: 300 });
        }
        return json(401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad refresh token' }] });
      }
      if (a.username !== undefined) {
        const expected = `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`;
        if (authorization !== expected) return json(401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] });
      }
      return json(200, { token: a.token, expires_in: 300, service: url.searchParams.get('service'), scope: url.searchParams.get('scope') });
    }

    if (!path.startsWith('/v2/')) return json(404, { errors: [{ code: 'NOT_FOUND' }] });
    if (this.auth.kind === 'basic') {
      const expected = `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString('base64')}`;
      if (authorization !== expected) {
        return json(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, { 'www-authenticate': 'Basic realm="fake"' });
      }
    } else if (this.auth.kind === 'bearer') {
      if (authorization !== `Bearer ${this.auth.token}`) {
        const repo = /^\/v2\/(.+)\/(manifests|blobs)\//.exec(path)?.[1] ?? '';
        return json(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, {
          'www-authenticate': `Bearer realm="${this.auth.realm}",service="${this.auth.service}",scope="repository:${repo}:pull"`,
        });
      }
    }

    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
    if (!m) return json(404, { errors: [{ code: 'NOT_FOUND' }] });
    const [, repo, kind, ref] = m as unknown as [string, string, string, string];
    if (kind === 'manifests') {
      const key = ref.startsWith('sha256:') ? `${repo}@${ref}` : `${repo}:${decodeURIComponent(ref)}`;
      const found = this.manifests.get(key);
      if (!found) return json(404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });
      return { status: 200, headers: { 'content-type': found.mediaType, 'docker-content-digest': sha256(found.body) }, body: found.body };
    }
    const blob = this.blobs.get(ref);
    if (!blob) return json(404, { errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown' }] });
    if (this.redirectBlobsTo && !pathWithQuery.includes('redirected=1')) {
      return { status: 307, headers: { location: `${this.redirectBlobsTo}${path}?redirected=1` }, body: Buffer.alloc(0) };
    }
    return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: blob };
  }
}

/**
 * A FetchLike over fake registries keyed by host (`reg.example`, `127.0.0.1:5000`); any other host
 * fails like an unreachable one. Bodies arrive in small chunks.
 */
export function fakeNetwork(hosts: Record<string, FakeRegistry>): FetchLike & { calls: string[] } {
  const calls: string[] = [];
  const fetchLike = async (url: string, init: HttpRequest): Promise<HttpResponse> => {
    calls.push(url);
    const u = new URL(url);
    const reg = hosts[u.host];
    if (!reg) throw new TypeError('fetch failed', { cause: Object.assign(new Error(`getaddrinfo ENOTFOUND ${u.hostname}`), { code: 'ENOTFOUND' }) });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v;
    const res = reg.handle(init.method ?? 'GET', u.pathname + u.search, headers, init.body);
    const h = new Map(Object.entries(res.headers).map(([k, v]) => [k.toLowerCase(), v]));
    return { status: res.status, headers: { get: (n: string) => h.get(n.toLowerCase()) ?? null }, body: chunked(res.body) };
  };
  return Object.assign(fetchLike, { calls });
}
