import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FLAG_FIN,
  FrameError,
  FrameParser,
  RstStatus,
  SettingId,
  encodeData,
  encodeGoaway,
  encodeHeaders,
  encodePing,
  encodeRstStream,
  encodeSettings,
  encodeSynReply,
  encodeSynStream,
  encodeWindowUpdate,
} from '../../../src/streaming/spdy-frames.js';

test('every frame type encodes to the SPDY/3.1 layout and parses back', () => {
  const block = Buffer.from('compressed-headers');
  const wire = Buffer.concat([
    encodeSynStream(1, FLAG_FIN, block, 5, 0),
    encodeSynReply(1, 0, block),
    encodeHeaders(3, FLAG_FIN, block),
    encodeData(1, Buffer.from('hello'), true),
    encodeRstStream(3, RstStatus.CANCEL),
    encodeSettings([{ id: SettingId.INITIAL_WINDOW_SIZE, value: 1 << 20, flags: 0 }]),
    encodePing(7),
    encodeGoaway(5, 0),
    encodeWindowUpdate(0, 4096),
  ]);
  const frames = new FrameParser().push(wire);
  assert.deepEqual(frames, [
    { type: 'syn_stream', streamId: 1, associatedId: 0, priority: 5, flags: FLAG_FIN, headerBlock: block },
    { type: 'syn_reply', streamId: 1, flags: 0, headerBlock: block },
    { type: 'headers', streamId: 3, flags: FLAG_FIN, headerBlock: block },
    { type: 'data', streamId: 1, flags: FLAG_FIN, data: Buffer.from('hello') },
    { type: 'rst_stream', streamId: 3, status: RstStatus.CANCEL },
    { type: 'settings', flags: 0, entries: [{ id: SettingId.INITIAL_WINDOW_SIZE, value: 1 << 20, flags: 0 }] },
    { type: 'ping', id: 7 },
    { type: 'goaway', lastGoodStreamId: 5, status: 0 },
    { type: 'window_update', streamId: 0, delta: 4096 },
  ]);
});

test('control frames carry version 3, the type and a 24-bit length; data frames the stream id', () => {
  const ping = encodePing(0x01020304);
  assert.deepEqual([...ping], [0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 1, 2, 3, 4]);
  const data = encodeData(0x1234, Buffer.from('ab'), true);
  assert.deepEqual([...data], [0x00, 0x00, 0x12, 0x34, 0x01, 0x00, 0x00, 0x02, 0x61, 0x62]);
});

test('the parser reassembles frames fed one byte at a time and keeps partial ones', () => {
  const wire = Buffer.concat([encodeData(1, Buffer.alloc(300, 7), false), encodePing(2), encodeData(3, Buffer.alloc(0), true)]);
  const parser = new FrameParser();
  const frames = [];
  for (const byte of wire) frames.push(...parser.push(Buffer.from([byte])));
  assert.equal(frames.length, 3);
  assert.deepEqual(frames[0], { type: 'data', streamId: 1, flags: 0, data: Buffer.alloc(300, 7) });
  assert.deepEqual(frames[1], { type: 'ping', id: 2 });
  assert.deepEqual(frames[2], { type: 'data', streamId: 3, flags: FLAG_FIN, data: Buffer.alloc(0) });
});

test('unknown control frame types are passed on to be ignored, as the spec says', () => {
  const unknown = Buffer.from([0x80, 0x03, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x02, 0xaa, 0xbb]);
  assert.deepEqual(new FrameParser().push(Buffer.concat([unknown, encodePing(1)])), [
    { type: 'unknown', frameType: 10 },
    { type: 'ping', id: 1 },
  ]);
});

test('malformed frames are refused', () => {
  // SPDY/2
  assert.throws(() => new FrameParser().push(Buffer.from([0x80, 0x02, 0x00, 0x06, 0, 0, 0, 4, 0, 0, 0, 1])), FrameError);
  // PING with 3 bytes
  assert.throws(() => new FrameParser().push(Buffer.from([0x80, 0x03, 0x00, 0x06, 0, 0, 0, 3, 0, 0, 1])), FrameError);
  // SETTINGS announcing more entries than it holds
  assert.throws(() => new FrameParser().push(Buffer.from([0x80, 0x03, 0x00, 0x04, 0, 0, 0, 4, 0, 0, 0, 2])), FrameError);
  // a control frame larger than the limit is refused as soon as its header is seen
  assert.throws(() => new FrameParser(1024).push(Buffer.from([0x80, 0x03, 0x00, 0x01, 0, 0, 0x08, 0x00])), FrameError);
  // a payload over 24 bits cannot be encoded
  assert.throws(() => encodeData(1, Buffer.alloc(0x1000000), false), FrameError);
});
