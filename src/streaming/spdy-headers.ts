/**
 * SPDY/3 header blocks: the name/value block format and its zlib compression with the SPDY
 * dictionary. One compression context per direction lives as long as the session (the spec's
 * "stateful" compression), so every block of a session must go through the same compressor and
 * decompressor, in frame order.
 */
import zlib from 'node:zlib';
import { SPDY_DICTIONARY, adler32 } from './spdy-dictionary.js';

/** Header names (lower case) to their values; SPDY joins several values of one name with NUL. */
export type SpdyHeaders = Record<string, string[]>;

/** Limits that keep a peer from making us buffer without bound. */
export const MAX_HEADER_BLOCK_BYTES = 256 * 1024;
const MAX_HEADER_PAIRS = 1000;

const SYNC_FLUSH_MARKER = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);

/** Raised for a malformed header block: a session-level protocol error. */
export class HeaderBlockError extends Error {}

/** Serializes headers into an uncompressed SPDY/3 name/value block. */
export function serializeHeaderBlock(headers: SpdyHeaders): Buffer {
  const entries = Object.entries(headers).filter(([, values]) => values.length > 0);
  const parts: Buffer[] = [u32(entries.length)];
  for (const [name, values] of entries) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(values.join('\0'), 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** Parses an uncompressed name/value block; rejects truncation, empty or duplicate names. */
export function parseHeaderBlock(buf: Buffer): SpdyHeaders {
  let off = 0;
  const need = (n: number) => {
    if (off + n > buf.length) throw new HeaderBlockError('truncated header block');
  };
  const readU32 = () => {
    need(4);
    const n = buf.readUInt32BE(off);
    off += 4;
    return n;
  };
  /** A length-prefixed UTF-8 string. */
  const readString = () => {
    const len = readU32();
    need(len);
    const s = buf.toString('utf8', off, off + len);
    off += len;
    return s;
  };
  const count = readU32();
  if (count > MAX_HEADER_PAIRS) throw new HeaderBlockError(`header block has ${count} pairs`);
  const headers: SpdyHeaders = {};
  for (let i = 0; i < count; i++) {
    const name = readString();
    const value = readString();
    if (name.length === 0) throw new HeaderBlockError('empty header name');
    if (Object.hasOwn(headers, name)) throw new HeaderBlockError(`duplicate header ${name}`);
    headers[name] = value.split('\0');
  }
  if (off !== buf.length) throw new HeaderBlockError('trailing bytes after header block');
  return headers;
}

/**
 * Compresses header blocks for one session direction. It emits zlib "stored" (uncompressed)
 * deflate blocks, each block flushed like Z_SYNC_FLUSH does: valid input for any peer's stateful inflater (it only adds back-references we
 * never make), and, unlike Node's deflate stream, synchronous, so a SYN_REPLY and the DATA frames
 * written right after it leave in order without an async step. Header blocks here are a few bytes,
 * so compressing them would save nothing worth the ordering machinery.
 */
export class HeaderCompressor {
  private started = false;

  /** The compressed form of headers, continuing this session's zlib stream. */
  compress(headers: SpdyHeaders): Buffer {
    const raw = serializeHeaderBlock(headers);
    const parts: Buffer[] = [];
    if (!this.started) {
      this.started = true;
      // zlib header: deflate with a 32 KiB window (0x78), FDICT set, check bits making it a
      // multiple of 31 (0xbb), then the Adler-32 of the preset dictionary.
      const head = Buffer.alloc(6);
      head[0] = 0x78;
      head[1] = 0xbb;
      head.writeUInt32BE(adler32(SPDY_DICTIONARY), 2);
      parts.push(head);
    }
    let off = 0;
    do {
      const chunk = raw.subarray(off, off + 0xffff);
      // Non-final stored block: BFINAL=0, BTYPE=00, padded to the byte; then LEN and ~LEN (LE).
      const blockHead = Buffer.alloc(5);
      blockHead.writeUInt16LE(chunk.length, 1);
      blockHead.writeUInt16LE(~chunk.length & 0xffff, 3);
      parts.push(blockHead, chunk);
      off += chunk.length;
    } while (off < raw.length);
    // End with an empty stored block, the marker zlib's Z_SYNC_FLUSH writes: inflaters (Go's
    // compress/flate among them) hand out a block's bytes only once the next block starts.
    parts.push(SYNC_FLUSH_MARKER);
    return Buffer.concat(parts);
  }
}

/**
 * Decompresses a peer's header blocks: one zlib inflate stream with the SPDY dictionary for the
 * whole session, flushed (Z_SYNC_FLUSH) after each block. Calls must not overlap (the session
 * processes frames one at a time).
 */
export class HeaderDecompressor {
  private readonly inflate = zlib.createInflate({ dictionary: SPDY_DICTIONARY });
  private out: Buffer[] = [];
  private outBytes = 0;
  private failure: Error | undefined;

  constructor() {
    this.inflate.on('data', (chunk: Buffer) => {
      // Past the limit keep inflating (the stream state must stay in step) but stop storing.
      this.outBytes += chunk.length;
      if (this.outBytes <= MAX_HEADER_BLOCK_BYTES) this.out.push(chunk);
    });
    this.inflate.on('error', (err) => {
      this.failure = err;
    });
  }

  /** The uncompressed bytes of one header block. */
  decompress(block: Buffer): Promise<Buffer> {
    if (this.failure) return Promise.reject(new HeaderBlockError(`header decompression failed: ${this.failure.message}`));
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(new HeaderBlockError(`header decompression failed: ${err.message}`));
      this.inflate.once('error', onError);
      this.inflate.write(block);
      this.inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.inflate.off('error', onError);
        if (this.failure) return; // onError already rejected
        const raw = Buffer.concat(this.out);
        const tooLarge = this.outBytes > MAX_HEADER_BLOCK_BYTES;
        this.out = [];
        this.outBytes = 0;
        if (tooLarge) reject(new HeaderBlockError('header block too large'));
        else resolve(raw);
      });
    });
  }

  /** Releases the zlib context. */
  close(): void {
    this.inflate.destroy();
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
