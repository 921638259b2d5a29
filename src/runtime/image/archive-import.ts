import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidArgument, type Logger } from '../../lib/index.js';
import { digestOf } from './digest.js';
import {
  choosePlatformManifest,
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
  MediaType,
  parseImageConfig,
  parseManifestDocument,
  type Descriptor,
  type ParsedImageConfig,
  type Platform,
} from './manifest.js';
import { tryNormalizeReference } from './reference.js';
import { entryComponents } from './safe-path.js';
import { walkTar } from './tar-walk.js';

/** A regular file taken out of an archive into the work folder, with its sha256 and size. */
export interface ArchiveFile {
  file: string;
  digest: string;
  size: number;
}

/** The files of an archive by their path inside it (symlinks resolved). */
export interface ArchiveContents {
  get(path: string): ArchiveFile | undefined;
  has(path: string): boolean;
}

/** One layer of an image to install. */
export interface LayerInfo {
  digest: string;
  size: number;
  mediaType: string;
  diffId: string;
}

/** An image found in an archive, ready to install: blobs map digest → file to adopt. */
export interface ArchiveImage {
  configDigest: string;
  config: ParsedImageConfig;
  layers: LayerInfo[];
  manifestDigest: string;
  /** Documents to store as blobs (manifests, indexes, config), bytes verified. */
  documents: { digest: string; bytes: Buffer }[];
  /** Layer blobs to adopt from the archive. */
  layerFiles: { digest: string; file: ArchiveFile }[];
  repoTags: string[];
  repoDigests: string[];
}

const MAX_LINK_HOPS = 16;

/**
 * Takes every regular file out of a tar archive (maybe gzip) into workDir under generated names,
 * hashing each on the way. Archive paths are hostile: they only become map keys (checked with
 * entryComponents), never paths we write to. Symlinks become aliases; other entry types are ignored.
 */
export async function extractArchive(file: string, workDir: string, logger: Logger): Promise<ArchiveContents> {
  const files = new Map<string, ArchiveFile>();
  const links = new Map<string, string>();
  let n = 0;
  const input = createReadStream(file);
  try {
    await walkTar(input, async (entry) => {
      const path = entryComponents(entry.path).join('/');
      if (entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile') {
        const out = join(workDir, `f${n++}`);
        const hash = createHash('sha256');
        let size = 0;
        await pipeline(
          Readable.from(entry),
          async function* (source: AsyncIterable<Buffer>) {
            for await (const chunk of source) {
              hash.update(chunk);
              size += chunk.length;
              yield chunk;
            }
          },
          createWriteStream(out, { flags: 'wx', mode: 0o644 }),
        );
        files.set(path, { file: out, digest: `sha256:${hash.digest('hex')}`, size });
        links.delete(path);
      } else if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
        const target = entry.linkpath ?? '';
        // Symlinks are relative to their folder; hard links name a path from the archive root.
        const resolved = entry.type === 'SymbolicLink' ? posix.join(posix.dirname(path), target) : target;
        links.set(path, entryComponents(resolved).join('/'));
      } else if (entry.type !== 'Directory') {
        logger.debug({ path: entry.path, type: entry.type }, 'archive import: ignoring entry');
      }
    });
  } catch (err) {
    throw invalidArgument(`reading image archive ${file}: ${(err as Error).message}`, err);
  } finally {
    input.destroy();
  }
  const get = (path: string): ArchiveFile | undefined => {
    let p = entryComponents(path).join('/');
    for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
      const f = files.get(p);
      if (f) return f;
      const next = links.get(p);
      if (next === undefined) return undefined;
      p = next;
    }
    return undefined;
  };
  return { get, has: (p) => get(p) !== undefined };
}

async function readSmall(contents: ArchiveContents, path: string, limit: number, what: string): Promise<Buffer> {
  const f = contents.get(path);
  if (!f) throw invalidArgument(`${what}: ${path} is missing from the archive`);
  if (f.size > limit) throw invalidArgument(`${what}: ${path} is larger than ${limit} bytes`);
  return readFile(f.file);
}

function blobPath(digest: string): string {
  return `blobs/${digest.replace(':', '/')}`;
}

/** Reads a blob of an OCI layout, checking its digest and size against the descriptor. */
async function readBlob(contents: ArchiveContents, d: Descriptor, limit: number, what: string): Promise<Buffer> {
  const f = contents.get(blobPath(d.digest));
  if (!f) throw invalidArgument(`${what}: blob ${d.digest} is missing from the archive`);
  if (!d.digest.startsWith('sha256:')) throw invalidArgument(`${what}: only sha256 blobs are supported in archives`);
  if (f.digest !== d.digest) throw invalidArgument(`${what}: blob ${d.digest}: digest mismatch: content is ${f.digest}`);
  if (f.size !== d.size) throw invalidArgument(`${what}: blob ${d.digest}: size ${f.size}, descriptor says ${d.size}`);
  if (f.size > limit) throw invalidArgument(`${what}: blob ${d.digest} is larger than ${limit} bytes`);
  return readFile(f.file);
}

function layerFile(contents: ArchiveContents, d: Descriptor, what: string): ArchiveFile {
  const f = contents.get(blobPath(d.digest));
  if (!f) throw invalidArgument(`${what}: layer ${d.digest} is missing from the archive`);
  if (f.digest !== d.digest) throw invalidArgument(`${what}: layer ${d.digest}: digest mismatch: content is ${f.digest}`);
  if (f.size !== d.size) throw invalidArgument(`${what}: layer ${d.digest}: size ${f.size}, descriptor says ${d.size}`);
  return f;
}

/** True when the archive is an OCI image layout (oci-layout + index.json), e.g. from `skopeo copy ... oci-archive:`. */
export function isOciLayout(contents: ArchiveContents): boolean {
  return contents.has('index.json') && contents.has('oci-layout');
}

/**
 * The images of an OCI image-layout archive: one per index.json entry (an index entry picks the
 * platform's manifest), named by the io.containerd.image.name or org.opencontainers.image.ref.name
 * annotation (normalised: `myname` becomes docker.io/library/myname:latest).
 */
export async function planOciLayout(contents: ArchiveContents, platform: Platform, logger: Logger): Promise<ArchiveImage[]> {
  const what = 'OCI layout';
  const indexBytes = await readSmall(contents, 'index.json', MAX_MANIFEST_BYTES, what);
  const index = parseManifestDocument(indexBytes, MediaType.ociIndex, `${what}: index.json`);
  if (index.kind !== 'index') throw invalidArgument(`${what}: index.json is not an image index`);
  const out: ArchiveImage[] = [];
  for (const top of index.manifests) {
    const annotations = top.annotations ?? {};
    const rawName = annotations['io.containerd.image.name'] ?? annotations['org.opencontainers.image.ref.name'];
    const ref = rawName === undefined ? undefined : tryNormalizeReference(rawName);
    if (rawName !== undefined && ref === undefined) logger.warn({ name: rawName }, 'archive import: ignoring invalid image name');
    const documents: { digest: string; bytes: Buffer }[] = [];
    const topBytes = await readBlob(contents, top, MAX_MANIFEST_BYTES, what);
    documents.push({ digest: top.digest, bytes: topBytes });
    let doc = parseManifestDocument(topBytes, top.mediaType, `${what}: ${top.digest}`);
    let manifestDigest = top.digest;
    if (doc.kind === 'index') {
      const chosen = choosePlatformManifest(doc.manifests, platform, `${what}: ${top.digest}`);
      const bytes = await readBlob(contents, chosen, MAX_MANIFEST_BYTES, what);
      documents.push({ digest: chosen.digest, bytes });
      doc = parseManifestDocument(bytes, chosen.mediaType, `${what}: ${chosen.digest}`);
      if (doc.kind !== 'manifest') throw invalidArgument(`${what}: ${chosen.digest}: nested indexes are not supported`);
      manifestDigest = chosen.digest;
    }
    const configBytes = await readBlob(contents, doc.config, MAX_CONFIG_BYTES, what);
    documents.push({ digest: doc.config.digest, bytes: configBytes });
    const config = parseImageConfig(configBytes, `${what}: config ${doc.config.digest}`);
    if (config.diffIds.length !== doc.layers.length) {
      throw invalidArgument(`${what}: ${manifestDigest}: ${doc.layers.length} layers but ${config.diffIds.length} diff ids in the config`);
    }
    const layers = doc.layers.map((l, i) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType, diffId: config.diffIds[i]! }));
    out.push({
      configDigest: doc.config.digest,
      config,
      layers,
      manifestDigest,
      documents,
      layerFiles: doc.layers.map((l) => ({ digest: l.digest, file: layerFile(contents, l, what) })),
      repoTags: ref?.tag !== undefined && ref.digest === undefined ? [`${ref.name}:${ref.tag}`] : [],
      repoDigests: ref ? [`${ref.name}@${top.digest}`] : [],
    });
  }
  return out;
}

/** The images of a `docker save` archive (manifest.json with Config, RepoTags, Layers). */
export async function planDockerSave(contents: ArchiveContents, logger: Logger): Promise<ArchiveImage[]> {
  const what = 'docker-save archive';
  const raw = await readSmall(contents, 'manifest.json', MAX_MANIFEST_BYTES, what);
  let entries: unknown;
  try {
    entries = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw invalidArgument(`${what}: manifest.json is not valid JSON`, err);
  }
  if (!Array.isArray(entries)) throw invalidArgument(`${what}: manifest.json must be a list`);
  const out: ArchiveImage[] = [];
  for (const [i, e] of entries.entries()) {
    const ewhat = `${what}: manifest.json[${i}]`;
    const { Config, RepoTags, Layers } = (e ?? {}) as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
    if (typeof Config !== 'string') throw invalidArgument(`${ewhat}: Config must be a path`);
    if (!Array.isArray(Layers) || !Layers.every((l) => typeof l === 'string')) throw invalidArgument(`${ewhat}: Layers must be a list of paths`);
    const configFile = contents.get(Config);
    if (!configFile) throw invalidArgument(`${ewhat}: ${Config} is missing from the archive`);
    const configBytes = await readSmall(contents, Config, MAX_CONFIG_BYTES, ewhat);
    const config = parseImageConfig(configBytes, `${ewhat}: ${Config}`);
    if (config.diffIds.length !== Layers.length) {
      throw invalidArgument(`${ewhat}: ${Layers.length} layers but ${config.diffIds.length} diff ids in the config`);
    }
    const layerFiles = (Layers as string[]).map((p) => {
      const f = contents.get(p);
      if (!f) throw invalidArgument(`${ewhat}: layer ${p} is missing from the archive`);
      return { digest: f.digest, file: f };
    });
    // docker save has no registry manifest: make the one a registry would have served.
    const layers = layerFiles.map((l, j) => ({ digest: l.digest, size: l.file.size, mediaType: MediaType.dockerLayer, diffId: config.diffIds[j]! }));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.dockerManifest,
        config: { mediaType: MediaType.dockerConfig, size: configFile.size, digest: configFile.digest },
        layers: layers.map((l) => ({ mediaType: l.mediaType, size: l.size, digest: l.digest })),
      }),
    );
    const manifestDigest = digestOf(manifest);
    const repoTags: string[] = [];
    for (const t of Array.isArray(RepoTags) ? RepoTags : []) {
      const ref = typeof t === 'string' ? tryNormalizeReference(t) : undefined;
      if (ref?.tag !== undefined && ref.digest === undefined) repoTags.push(`${ref.name}:${ref.tag}`);
      else logger.warn({ name: t }, 'archive import: ignoring invalid repo tag');
    }
    out.push({
      configDigest: configFile.digest,
      config,
      layers,
      manifestDigest,
      documents: [
        { digest: configFile.digest, bytes: configBytes },
        { digest: manifestDigest, bytes: manifest },
      ],
      layerFiles,
      repoTags,
      repoDigests: [],
    });
  }
  return out;
}
