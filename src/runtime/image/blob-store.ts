import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { CoreletError, errnoCode, invalidArgument, unavailable } from '../../lib/index.js';
import { DigestVerifier, parseDigest } from './digest.js';

const READ_CHUNK = 1 << 20;
/** Bytes queued for the blob file before the download waits: the network keeps flowing while the disk writes (queued chunks go out in one writev). */
const WRITE_QUEUE = 4 << 20;

/**
 * Content-addressed blobs on disk: `<dir>/<algorithm>/<hex>`. A blob only appears under its name
 * after its bytes were verified against the digest (written to a temp file first, then renamed).
 */
export class BlobStore {
  constructor(
    private readonly dir: string,
    private readonly tmpDir: string,
  ) {}

  /** Creates the folders. */
  async init(): Promise<void> {
    await mkdir(join(this.dir, 'sha256'), { recursive: true });
    await mkdir(join(this.dir, 'sha512'), { recursive: true });
  }

  /** Where a blob lives (whether or not it is there). */
  path(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.dir, algorithm, hex);
  }

  async has(digest: string): Promise<boolean> {
    try {
      await stat(this.path(digest));
      return true;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  /** A read stream of a stored blob (1 MiB reads: layers are unpacked from it). */
  open(digest: string): ReadStream {
    return createReadStream(this.path(digest), { highWaterMark: READ_CHUNK });
  }

  /** Reads a stored blob whole. */
  read(digest: string): Promise<Buffer> {
    return readFile(this.path(digest));
  }

  /**
   * Stores a blob from a stream, verifying digest and size (when given) as it streams. Errors reading
   * the stream are Unavailable (network); verification failures InvalidArgument.
   */
  async writeStream(digest: string, size: number | undefined, chunks: AsyncIterable<Uint8Array>, what: string): Promise<void> {
    const verifier = new DigestVerifier(digest, size, what);
    const tmp = join(this.tmpDir, `blob-${randomBytes(6).toString('hex')}`);
    try {
      await pipeline(async function* () {
        try {
          for await (const chunk of chunks) {
            verifier.update(chunk);
            yield chunk;
          }
        } catch (err) {
          if (err instanceof CoreletError) throw err;
          throw unavailable(`${what}: download interrupted: ${(err as Error).message}`, err);
        }
      }, createWriteStream(tmp, { flags: 'wx', mode: 0o644, highWaterMark: WRITE_QUEUE }));
      verifier.finish();
      await rename(tmp, this.path(digest));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /** Stores bytes already in memory, verifying them against digest. */
  async writeBytes(digest: string, bytes: Uint8Array, what: string): Promise<void> {
    if (await this.has(digest)) return;
    await this.writeStream(digest, bytes.length, (async function* () {
      yield bytes;
    })(), what);
  }

  /**
   * Moves a file whose digest was already computed into the store (archive import). The caller
   * vouches for actualDigest; a mismatch with the wanted digest is an InvalidArgument.
   */
  async adoptFile(digest: string, file: string, actualDigest: string, what: string): Promise<void> {
    if (actualDigest !== digest) throw invalidArgument(`${what}: digest mismatch: expected ${digest}, got ${actualDigest}`);
    if (await this.has(digest)) return;
    await rename(file, this.path(digest));
  }

  async remove(digest: string): Promise<void> {
    await rm(this.path(digest), { force: true });
  }

  /** Every stored blob's digest. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const algorithm of ['sha256', 'sha512']) {
      let names: string[] = [];
      try {
        names = await readdir(join(this.dir, algorithm));
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
      }
      for (const n of names) out.push(`${algorithm}:${n}`);
    }
    return out;
  }
}
