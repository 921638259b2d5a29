import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { SPDY_DICTIONARY, adler32 } from '../../../src/streaming/spdy-dictionary.js';
import {
  HeaderBlockError,
  HeaderCompressor,
  HeaderDecompressor,
  parseHeaderBlock,
  serializeHeaderBlock,
  type SpdyHeaders,
} from '../../../src/streaming/spdy-headers.js';

test('the SPDY/3 dictionary has the spec length and the Adler-32 peers announce for it', () => {
  assert.equal(SPDY_DICTIONARY.length, 1423);
  // The dictionary id Go's zlib (spdystream) writes in the header of its first header block.
  assert.equal(adler32(SPDY_DICTIONARY), 0xe3c6a7c2);
  assert.equal(adler32(Buffer.from('Wikipedia')), 0x11e60398);
});

test('name/value blocks round trip, with NUL-joined multiple values and lower-case names', () => {
  const raw = serializeHeaderBlock({ StreamType: ['stdout'], 'x-multi': ['a', 'b'], empty: [''] });
  assert.deepEqual(parseHeaderBlock(raw), { streamtype: ['stdout'], 'x-multi': ['a', 'b'], empty: [''] });
  assert.deepEqual(parseHeaderBlock(serializeHeaderBlock({})), {});
});

test('malformed name/value blocks are refused', () => {
  const good = serializeHeaderBlock({ a: ['1'] });
  assert.throws(() => parseHeaderBlock(good.subarray(0, good.length - 1)), HeaderBlockError);
  assert.throws(() => parseHeaderBlock(Buffer.concat([good, Buffer.from([0])])), HeaderBlockError);
  const dup = Buffer.concat([Buffer.from([0, 0, 0, 2]), good.subarray(4), good.subarray(4)]);
  assert.throws(() => parseHeaderBlock(dup), /duplicate header a/);
  assert.throws(() => parseHeaderBlock(Buffer.from([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])), /empty header name/);
});

test('compressed header blocks round trip through one stateful context per direction', async () => {
  const c = new HeaderCompressor();
  const d = new HeaderDecompressor();
  try {
    const blocks: SpdyHeaders[] = [{}, { streamtype: ['error'] }, { streamtype: ['data'], port: ['8080'], requestid: ['0'] }, { big: ['v'.repeat(70_000)] }];
    for (const headers of blocks) {
      assert.deepEqual(parseHeaderBlock(await d.decompress(c.compress(headers))), headers);
    }
  } finally {
    d.close();
  }
});

test('our compressed blocks are standard zlib with the SPDY dictionary (any peer inflates them)', () => {
  const c = new HeaderCompressor();
  const first = c.compress({ streamtype: ['stdout'] });
  const second = c.compress({ streamtype: ['stderr'] });
  // The zlib header names the preset dictionary by its Adler-32.
  assert.equal(first.readUInt16BE(0), 0x78bb);
  assert.equal(first.readUInt32BE(2), adler32(SPDY_DICTIONARY));
  const inflated = zlib.inflateSync(Buffer.concat([first, second]), {
    dictionary: SPDY_DICTIONARY,
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  const a = serializeHeaderBlock({ streamtype: ['stdout'] });
  assert.deepEqual(parseHeaderBlock(inflated.subarray(0, a.length)), { streamtype: ['stdout'] });
  assert.deepEqual(parseHeaderBlock(inflated.subarray(a.length)), { streamtype: ['stderr'] });
});

test('blocks from a real dictionary deflater (as Go peers send) decode, later ones referring to earlier', async () => {
  const deflate = zlib.createDeflate({ dictionary: SPDY_DICTIONARY, level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => out.push(chunk));
  const compress = (raw: Buffer) =>
    new Promise<Buffer>((resolve) => {
      deflate.write(raw);
      deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve(Buffer.concat(out.splice(0))));
    });
  const d = new HeaderDecompressor();
  try {
    const headers = { streamtype: ['stdin'], 'x-stream-protocol-version': ['v4.channel.k8s.io'] };
    const first = await compress(serializeHeaderBlock(headers));
    const second = await compress(serializeHeaderBlock(headers));
    // The second block is mostly back-references into the first: only a stateful inflater reads it.
    assert.ok(second.length < first.length / 2, `second block (${second.length} bytes) reuses the first (${first.length})`);
    assert.deepEqual(parseHeaderBlock(await d.decompress(first)), headers);
    assert.deepEqual(parseHeaderBlock(await d.decompress(second)), headers);
  } finally {
    d.close();
    deflate.destroy();
  }
});

test('a corrupt compressed block is a header block error', async () => {
  const d = new HeaderDecompressor();
  try {
    await assert.rejects(d.decompress(Buffer.from([0x78, 0xbb, 1, 2, 3, 4, 0xff, 0xff, 0xff])), HeaderBlockError);
  } finally {
    d.close();
  }
});
