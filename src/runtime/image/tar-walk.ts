import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { invalidArgument } from '../../lib/index.js';

export type { ReadEntry };

/** What walkTar saw. */
export interface TarWalkResult {
  /** sha256 digest of the uncompressed tar stream (a layer's diff id). */
  diffId: string;
}

const GUNZIP_CHUNK = 256 * 1024;
const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/**
 * Walks a tar stream (gzip-compressed or not, detected from its first bytes) with node-tar's parser
 * in strict mode, calling onEntry for each entry strictly one after the other, in archive order.
 * onEntry may consume the entry's data; whatever it leaves is skipped. Entries node-tar does not
 * recognise go to onIgnored. Any parse error, decompression error or onEntry failure rejects.
 */
export async function walkTar(
  source: AsyncIterable<Uint8Array>,
  onEntry: (entry: ReadEntry) => Promise<void>,
  onIgnored: (entry: ReadEntry) => void = () => undefined,
): Promise<TarWalkResult> {
  const parser = new Parser({ strict: true });
  let failure: unknown;
  let wakeOnFailure!: () => void;
  const failed = new Promise<void>((resolve) => (wakeOnFailure = resolve));
  let current: ReadEntry | undefined;
  const fail = (err: unknown) => {
    if (failure !== undefined) return;
    failure = err ?? new Error('tar stream failed');
    // An entry waiting for data that will never come must not hang the walk.
    current?.destroy?.();
    wakeOnFailure();
  };

  let chain: Promise<void> = Promise.resolve();
  parser.on('entry', (entry: ReadEntry) => {
    chain = chain.then(async () => {
      current = entry;
      if (failure === undefined) {
        try {
          await onEntry(entry);
        } catch (err) {
          fail(err);
        }
      }
      current = undefined;
      entry.resume();
    });
  });
  parser.on('ignoredEntry', (entry: ReadEntry) => onIgnored(entry));
  parser.on('error', (err: unknown) => fail(invalidArgument(`invalid tar: ${(err as Error).message ?? err}`, err)));
  parser.on('abort', (err: unknown) => fail(invalidArgument(`invalid tar: ${(err as Error).message ?? err}`, err)));
  const ended = new Promise<void>((resolve) => parser.on('end', () => resolve()));

  const hash = createHash('sha256');
  let total = 0;
  try {
    for await (const chunk of decompressed(source)) {
      hash.update(chunk);
      total += chunk.length;
      if (failure !== undefined) break;
      if (!parser.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
        await Promise.race([new Promise<void>((resolve) => parser.once('drain', () => resolve())), failed]);
      }
    }
    if (failure === undefined) {
      // Some writers (umoci insert) end the last entry without its block padding; Go's archive/tar,
      // and so containerd, accept that. Pad (unhashed) so node-tar does too: the diff id check still
      // catches a layer whose content was cut short. (Plus an end-of-archive marker: node-tar only
      // consumes whole 512-byte blocks.)
      if (total % 512 !== 0) parser.write(Buffer.alloc(512 - (total % 512) + 1024));
      parser.end();
      await Promise.race([ended, failed]);
    }
  } catch (err) {
    fail(err instanceof Error && (err as { code?: string }).code?.startsWith('Z_') ? invalidArgument(`invalid gzip data: ${err.message}`, err) : err);
  }
  await chain;
  if (failure !== undefined) throw failure;
  return { diffId: `sha256:${hash.digest('hex')}` };
}

/** Yields the stream's bytes, gunzipped if it starts with the gzip magic. zstd is refused (Node 20 lacks it). */
async function* decompressed(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let done = false;
  while (head.length < 4 && !done) {
    const r = await it.next();
    if (r.done) done = true;
    else head = Buffer.concat([head, r.value]);
  }
  const startsWith = (magic: number[]) => magic.every((b, i) => head[i] === b);
  if (startsWith(ZSTD_MAGIC)) throw invalidArgument('zstd-compressed layers are not supported');
  const rest = async function* () {
    if (head.length > 0) yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  };
  if (!startsWith(GZIP_MAGIC)) {
    yield* rest();
    return;
  }
  // 256 KiB output chunks instead of zlib's 16 KiB: 16× fewer thread-pool round trips and parser
  // writes per layer.
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK });
  const input = Readable.from(rest(), { objectMode: false });
  input.on('error', (err) => gunzip.destroy(err));
  input.pipe(gunzip);
  try {
    yield* gunzip;
  } finally {
    input.destroy();
    gunzip.destroy();
  }
}
