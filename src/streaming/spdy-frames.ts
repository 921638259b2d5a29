/**
 * SPDY/3.1 framing (pure): the frame types, their binary encoding and an incremental parser that
 * splits a byte stream into frames. Header blocks stay compressed here; the session runs them through
 * its stateful decompressor in frame order (spdy-headers.ts).
 *
 * Wire layout (big-endian): a control frame is `1 | version(15) | type(16) | flags(8) | length(24)`
 * then `length` bytes; a data frame is `0 | stream-id(31) | flags(8) | length(24)` then the data.
 */

export const SPDY_VERSION = 3;

/** Control frame type codes. */
export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

/** FLAG_FIN on DATA, SYN_STREAM, SYN_REPLY and HEADERS: the sender's last frame on the stream. */
export const FLAG_FIN = 0x01;
/** FLAG_UNIDIRECTIONAL on SYN_STREAM: the recipient may not send on the stream. */
export const FLAG_UNIDIRECTIONAL = 0x02;
/** FLAG_SETTINGS_CLEAR_SETTINGS on SETTINGS. */
export const FLAG_CLEAR_SETTINGS = 0x01;

/** RST_STREAM status codes. */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  FRAME_TOO_LARGE: 11,
} as const;

/** GOAWAY status codes. */
export const GoawayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

/** SETTINGS ids this implementation acts on. */
export const SettingId = { MAX_CONCURRENT_STREAMS: 4, INITIAL_WINDOW_SIZE: 7 } as const;

/** Initial per-stream and per-session flow-control window of SPDY/3.1. */
export const DEFAULT_WINDOW = 64 * 1024;
/** Largest payload a frame's 24-bit length can carry. */
export const MAX_FRAME_PAYLOAD = 0xffffff;
const MAX_STREAM_ID = 0x7fffffff;

export interface SettingEntry {
  id: number;
  value: number;
  flags: number;
}

/** A parsed frame; header-bearing frames keep their block compressed. */
export type RawFrame =
  | { type: 'data'; streamId: number; flags: number; data: Buffer }
  | { type: 'syn_stream'; streamId: number; associatedId: number; priority: number; flags: number; headerBlock: Buffer }
  | { type: 'syn_reply'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'headers'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; flags: number; entries: SettingEntry[] }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'window_update'; streamId: number; delta: number }
  /** A control frame of a type we do not know: the spec says to ignore it. */
  | { type: 'unknown'; frameType: number };

/** A malformed frame: the session answers with GOAWAY PROTOCOL_ERROR and closes. */
export class FrameError extends Error {}

function header(control: boolean, typeOrStream: number, flags: number, length: number): Buffer {
  if (length > MAX_FRAME_PAYLOAD) throw new FrameError(`frame payload of ${length} bytes exceeds 24 bits`);
  const b = Buffer.alloc(8);
  if (control) {
    b.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
    b.writeUInt16BE(typeOrStream, 2);
  } else {
    b.writeUInt32BE(typeOrStream & MAX_STREAM_ID, 0);
  }
  b.writeUInt32BE(((flags & 0xff) << 24 | length) >>> 0, 4);
  return b;
}

function control(type: number, flags: number, payload: Buffer): Buffer {
  return Buffer.concat([header(true, type, flags, payload.length), payload]);
}

/** A DATA frame. */
export function encodeData(streamId: number, data: Buffer, fin: boolean): Buffer {
  return Buffer.concat([encodeDataHeader(streamId, data.length, fin), data]);
}

/** The 8-byte header of a DATA frame, for writing header and payload without copying the payload. */
export function encodeDataHeader(streamId: number, length: number, fin: boolean): Buffer {
  return header(false, streamId, fin ? FLAG_FIN : 0, length);
}

/** A SYN_STREAM frame with an already compressed header block. */
export function encodeSynStream(streamId: number, flags: number, headerBlock: Buffer, priority = 0, associatedId = 0): Buffer {
  const p = Buffer.alloc(10);
  p.writeUInt32BE(streamId & MAX_STREAM_ID, 0);
  p.writeUInt32BE(associatedId & MAX_STREAM_ID, 4);
  p[8] = (priority & 0x7) << 5;
  p[9] = 0; // slot (credentials), unused
  return control(FrameType.SYN_STREAM, flags, Buffer.concat([p, headerBlock]));
}

/** A SYN_REPLY frame with an already compressed header block. */
export function encodeSynReply(streamId: number, flags: number, headerBlock: Buffer): Buffer {
  return control(FrameType.SYN_REPLY, flags, Buffer.concat([u32(streamId & MAX_STREAM_ID), headerBlock]));
}

/** A HEADERS frame with an already compressed header block. */
export function encodeHeaders(streamId: number, flags: number, headerBlock: Buffer): Buffer {
  return control(FrameType.HEADERS, flags, Buffer.concat([u32(streamId & MAX_STREAM_ID), headerBlock]));
}

/** A RST_STREAM frame. */
export function encodeRstStream(streamId: number, status: number): Buffer {
  return control(FrameType.RST_STREAM, 0, Buffer.concat([u32(streamId & MAX_STREAM_ID), u32(status)]));
}

/** A SETTINGS frame. */
export function encodeSettings(entries: SettingEntry[], flags = 0): Buffer {
  const p = Buffer.alloc(4 + entries.length * 8);
  p.writeUInt32BE(entries.length, 0);
  entries.forEach((e, i) => {
    p.writeUInt32BE((((e.flags & 0xff) << 24) | (e.id & 0xffffff)) >>> 0, 4 + i * 8);
    p.writeUInt32BE(e.value >>> 0, 8 + i * 8);
  });
  return control(FrameType.SETTINGS, flags, p);
}

/** A PING frame. */
export function encodePing(id: number): Buffer {
  return control(FrameType.PING, 0, u32(id));
}

/** A GOAWAY frame. */
export function encodeGoaway(lastGoodStreamId: number, status: number): Buffer {
  return control(FrameType.GOAWAY, 0, Buffer.concat([u32(lastGoodStreamId & MAX_STREAM_ID), u32(status)]));
}

/** A WINDOW_UPDATE frame (stream 0: the session window). */
export function encodeWindowUpdate(streamId: number, delta: number): Buffer {
  return control(FrameType.WINDOW_UPDATE, 0, Buffer.concat([u32(streamId & MAX_STREAM_ID), u32(delta & MAX_STREAM_ID)]));
}

/**
 * Splits a byte stream into frames. Feed it chunks as they arrive; it returns the frames completed
 * so far and keeps a partial frame for the next call. Chunks are joined once per frame, so a large
 * frame arriving in many pieces costs one copy.
 */
export class FrameParser {
  private chunks: Buffer[] = [];
  private length = 0;

  /** @param maxControlPayload larger control frames are a protocol error (header blocks are small). */
  constructor(private readonly maxControlPayload = 1024 * 1024) {}

  /** Parses what chunk completes; throws FrameError on malformed input. */
  push(chunk: Buffer): RawFrame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.length += chunk.length;
    }
    const frames: RawFrame[] = [];
    while (this.length >= 8) {
      const head = this.peek(8);
      const word = head.readUInt32BE(0);
      const flagsLen = head.readUInt32BE(4);
      const flags = flagsLen >>> 24;
      const length = flagsLen & 0xffffff;
      const isControl = (word & 0x80000000) !== 0;
      if (isControl && length > this.maxControlPayload) throw new FrameError(`control frame of ${length} bytes`);
      if (this.length < 8 + length) break;
      // Socket and WebSocket chunks are fresh buffers, so payloads may keep referencing them.
      const payload = this.take(8 + length).subarray(8);
      if (!isControl) {
        frames.push({ type: 'data', streamId: word & MAX_STREAM_ID, flags, data: payload });
        continue;
      }
      const version = (word >>> 16) & 0x7fff;
      if (version !== SPDY_VERSION) throw new FrameError(`unsupported SPDY version ${version}`);
      frames.push(parseControl(word & 0xffff, flags, payload));
    }
    return frames;
  }

  /** The first n buffered bytes, without consuming them. */
  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.subarray(0, n);
  }

  /** Consumes the first n buffered bytes. */
  private take(n: number): Buffer {
    this.length -= n;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const c = this.chunks[0]!;
      if (c.length <= need) {
        parts.push(c);
        this.chunks.shift();
        need -= c.length;
      } else {
        parts.push(c.subarray(0, need));
        this.chunks[0] = c.subarray(need);
        need = 0;
      }
    }
    return Buffer.concat(parts, n);
  }
}

function parseControl(type: number, flags: number, p: Buffer): RawFrame {
  const need = (n: number, exact = false) => {
    if (p.length < n || (exact && p.length !== n)) throw new FrameError(`control frame type ${type}: bad length ${p.length}`);
  };
  switch (type) {
    case FrameType.SYN_STREAM:
      need(10);
      return {
        type: 'syn_stream',
        streamId: p.readUInt32BE(0) & MAX_STREAM_ID,
        associatedId: p.readUInt32BE(4) & MAX_STREAM_ID,
        priority: p[8]! >>> 5,
        flags,
        headerBlock: p.subarray(10),
      };
    case FrameType.SYN_REPLY:
    case FrameType.HEADERS:
      need(4);
      return {
        type: type === FrameType.SYN_REPLY ? 'syn_reply' : 'headers',
        streamId: p.readUInt32BE(0) & MAX_STREAM_ID,
        flags,
        headerBlock: p.subarray(4),
      };
    case FrameType.RST_STREAM:
      need(8, true);
      return { type: 'rst_stream', streamId: p.readUInt32BE(0) & MAX_STREAM_ID, status: p.readUInt32BE(4) };
    case FrameType.SETTINGS: {
      need(4);
      const count = p.readUInt32BE(0);
      if (p.length !== 4 + count * 8) throw new FrameError(`SETTINGS: ${count} entries in ${p.length} bytes`);
      const entries: SettingEntry[] = [];
      for (let i = 0; i < count; i++) {
        const idFlags = p.readUInt32BE(4 + i * 8);
        entries.push({ flags: idFlags >>> 24, id: idFlags & 0xffffff, value: p.readUInt32BE(8 + i * 8) });
      }
      return { type: 'settings', flags, entries };
    }
    case FrameType.PING:
      need(4, true);
      return { type: 'ping', id: p.readUInt32BE(0) };
    case FrameType.GOAWAY:
      need(8, true);
      return { type: 'goaway', lastGoodStreamId: p.readUInt32BE(0) & MAX_STREAM_ID, status: p.readUInt32BE(4) };
    case FrameType.WINDOW_UPDATE:
      need(8, true);
      return { type: 'window_update', streamId: p.readUInt32BE(0) & MAX_STREAM_ID, delta: p.readUInt32BE(4) & MAX_STREAM_ID };
    default:
      return { type: 'unknown', frameType: type };
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
