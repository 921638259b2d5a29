/** In-memory transports and a hand-driven SPDY peer for the streaming unit tests. */
import { Duplex } from 'node:stream';
import { FrameParser, type RawFrame } from '../../../src/streaming/spdy-frames.js';
import { HeaderCompressor, HeaderDecompressor, parseHeaderBlock, type SpdyHeaders } from '../../../src/streaming/spdy-headers.js';

/** Two connected Duplexes: what one writes, the other reads (like a socket pair). */
export function duplexPair(): [Duplex, Duplex] {
  let b!: Duplex;
  const make = (other: () => Duplex) =>
    new Duplex({
      allowHalfOpen: true,
      read() {},
      write(chunk: Buffer, _enc, cb) {
        other().push(chunk);
        cb();
      },
      final(cb) {
        other().push(null);
        cb();
      },
      destroy(err, cb) {
        const o = other();
        if (!o.destroyed) o.destroy();
        cb(err);
      },
    });
  const a = make(() => b);
  b = make(() => a);
  return [a, b];
}

/**
 * A SPDY peer driven frame by frame, standing in for clients such as spdystream that the session
 * must cope with (no flow control, odd timing).
 */
export class RawPeer {
  readonly frames: (RawFrame & { headers?: SpdyHeaders })[] = [];
  private readonly parser = new FrameParser();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private waiters: (() => void)[] = [];
  private chain: Promise<void> = Promise.resolve();
  ended = false;

  constructor(readonly transport: Duplex) {
    transport.on('data', (chunk: Buffer) => {
      for (const f of this.parser.push(chunk)) {
        // Header blocks must be inflated in order: chain them.
        this.chain = this.chain.then(async () => {
          const headers = 'headerBlock' in f ? parseHeaderBlock(await this.decompressor.decompress(f.headerBlock)) : undefined;
          this.frames.push({ ...f, headers });
          this.wake();
        });
      }
    });
    transport.on('end', () => {
      this.ended = true;
      this.wake();
    });
  }

  /** Sends raw bytes. */
  write(buf: Buffer): void {
    this.transport.write(buf);
  }

  /** Compresses headers with this peer's compressor (the session's decompressor must follow). */
  headerBlock(headers: SpdyHeaders): Buffer {
    return this.compressor.compress(headers);
  }

  /** Waits until a received frame matches (frames stay in `frames`). */
  async waitFor<T extends RawFrame['type']>(
    type: T,
    match: (f: Extract<RawFrame, { type: T }> & { headers?: SpdyHeaders }) => boolean = () => true,
  ): Promise<Extract<RawFrame, { type: T }> & { headers?: SpdyHeaders }> {
    for (;;) {
      const found = this.frames.find((f) => f.type === type && match(f as never));
      if (found) return found as never;
      if (this.ended) throw new Error(`transport ended before a ${type} frame arrived`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** DATA bytes received on a stream so far. */
  dataOn(streamId: number): Buffer {
    return Buffer.concat(this.frames.flatMap((f) => (f.type === 'data' && f.streamId === streamId ? [f.data] : [])));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}

/**
 * Reads a stream to its end. (Not with for-await: that destroys a Duplex once its readable side
 * ends, which would reset a SPDY stream whose writable side is still in use.)
 */
export function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer | string) => chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
    stream.once('close', () => reject(new Error('stream closed before its end')));
  });
}
