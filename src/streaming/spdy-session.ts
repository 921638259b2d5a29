/**
 * A SPDY/3.1 session over any byte stream (an upgraded HTTP socket, a TLS socket, or a WebSocket
 * tunnel): multiplexed streams as Node Duplexes, ping, goaway, and flow control.
 *
 * Flow control, and why it is "peer-driven" by default: SPDY/3.1 gives every stream and the session
 * a 64 KiB send window that the receiver reopens with WINDOW_UPDATE. The SPDY implementation every
 * Kubernetes client uses (moby/spdystream inside client-go: crictl, kubelet, kubectl) never sends
 * WINDOW_UPDATE nor honours ours, so a sender that strictly waits for the window would stall any
 * exec output past 64 KiB. So this session always tracks both windows and always sends
 * WINDOW_UPDATEs as its readers consume data, but holds DATA back for the peer's window only once
 * the peer has shown it does flow control (it sent a WINDOW_UPDATE or SETTINGS_INITIAL_WINDOW_SIZE),
 * or always with `flowControl: 'strict'`. In the other direction a peer that overruns our window is
 * tolerated (spdystream does) and throttled by pausing the socket until the stream's reader catches
 * up, which bounds our buffering; conformant peers never trigger that pause.
 *
 * Nothing is sent before the peer speaks: client-go reads the HTTP 101 response through a throwaway
 * buffered reader, so bytes we sent right behind it would be lost.
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { silentLogger, type Logger, messageOf } from '../lib/index.js';
import {
  DEFAULT_WINDOW,
  FLAG_FIN,
  FLAG_UNIDIRECTIONAL,
  FrameError,
  FrameParser,
  GoawayStatus,
  RstStatus,
  SettingId,
  encodeData,
  encodeDataHeader,
  encodeGoaway,
  encodePing,
  encodeRstStream,
  encodeSynReply,
  encodeSynStream,
  encodeWindowUpdate,
  type RawFrame,
} from './spdy-frames.js';
import { HeaderBlockError, HeaderCompressor, HeaderDecompressor, parseHeaderBlock, type SpdyHeaders } from './spdy-headers.js';

export interface SpdySessionOptions {
  /** A server answers the odd stream ids clients open and opens even ones; a client the reverse. */
  role: 'server' | 'client';
  /** 'peer-driven' (default): honour the peer's windows once it shows it does flow control. */
  flowControl?: 'strict' | 'peer-driven';
  /** Streams the peer may have open at once; more are refused (REFUSED_STREAM). */
  maxStreams?: number;
  logger?: Logger;
}

/** Largest DATA payload we send in one frame. */
const MAX_DATA_CHUNK = 32 * 1024;
/** Frames waiting for header decompression beyond which we stop reading the socket. */
const MAX_QUEUED_FRAMES = 256;

/**
 * One SPDY stream: a Duplex whose readable side carries the peer's DATA (ending on its FIN) and whose
 * writable side sends DATA (end() sends FIN). destroy() before both FINs resets the stream (CANCEL).
 * A peer's RST_STREAM destroys it without an error; `resetStatus` then tells why.
 */
export class SpdyStream extends Duplex {
  /** Headers of the SYN_STREAM (incoming) or of the SYN_REPLY once it arrived (outgoing). */
  headers: SpdyHeaders;
  /** The RST_STREAM status if either side reset the stream. */
  resetStatus: number | undefined;
  /** Resolves once the stream is established (reply sent or received); rejects if reset before. */
  readonly established: Promise<void>;

  /** @internal */ localFin = false;
  /** @internal */ remoteFin = false;
  /** @internal */ isEstablished = false;
  /** @internal */ sendWindow: number;
  /** @internal */ recvWindow = DEFAULT_WINDOW;
  private pushed = 0;
  private credited = 0;
  private sessionCredited = 0;
  private pending: { chunk: Buffer; cb: (err?: Error | null) => void } | undefined;
  private finalCb: ((err?: Error | null) => void) | undefined;
  private resolveEstablished!: () => void;
  private rejectEstablished!: (err: Error) => void;

  /** @internal */
  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    headers: SpdyHeaders,
    readonly incoming: boolean,
    sendWindow: number,
  ) {
    super({ allowHalfOpen: true });
    this.headers = headers;
    this.sendWindow = sendWindow;
    this.established = new Promise<void>((resolve, reject) => {
      this.resolveEstablished = resolve;
      this.rejectEstablished = reject;
    });
    this.established.catch(() => {}); // nobody has to wait for it
    this.on('end', () => {
      this.session.setCongested(this, false);
      this.session.maybeForget(this);
    });
  }

  /** First value of a header (names are lower case on the wire). */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.[0];
  }

  /** Accepts a stream the peer opened (SYN_REPLY); writes wait for it. */
  reply(headers: SpdyHeaders = {}): void {
    if (!this.incoming || this.isEstablished || this.destroyed) return;
    this.session.sendReply(this, headers, false);
    this.markEstablished();
  }

  /** Aborts the stream with RST_STREAM (default CANCEL). */
  reset(status: number = RstStatus.CANCEL): void {
    if (this.resetStatus === undefined && !this.destroyed) {
      this.resetStatus = status;
      this.session.sendReset(this.id, status);
    }
    this.destroy();
  }

  /** @internal the peer's SYN_REPLY, or our reply, opened the stream for DATA. */
  markEstablished(headers?: SpdyHeaders): void {
    if (this.isEstablished) return;
    if (headers) this.headers = headers;
    this.isEstablished = true;
    this.resolveEstablished();
    this.flush();
  }

  /** @internal DATA from the peer. */
  receive(data: Buffer, fin: boolean): void {
    if (data.length > 0) {
      this.recvWindow -= data.length;
      this.pushed += data.length;
      const more = this.readableEnded || this.destroyed ? true : this.push(data);
      // A peer past our window ignores flow control: stop reading the socket until this drains.
      if (!more && this.recvWindow < 0) this.session.setCongested(this, true);
      this.credit();
    }
    if (fin) this.receiveFin();
  }

  /** @internal */
  receiveFin(): void {
    if (this.remoteFin) return;
    this.remoteFin = true;
    if (!this.destroyed) this.push(null);
    this.session.maybeForget(this);
  }

  /** @internal the peer's RST_STREAM. */
  receiveReset(status: number): void {
    this.resetStatus ??= status;
    this.rejectEstablished(new Error(`stream ${this.id} reset by peer (status ${status})`));
    this.destroy();
  }

  /** @internal windows changed or the stream got established: send what waits. */
  flush(): void {
    if (this.destroyed || !this.isEstablished) return;
    while (this.pending) {
      const { chunk, cb } = this.pending;
      if (chunk.length === 0) {
        this.pending = undefined;
        cb();
        break;
      }
      let allowed = Math.min(chunk.length, MAX_DATA_CHUNK);
      if (this.session.enforcingPeerWindow()) allowed = Math.min(allowed, this.sendWindow, this.session.sendWindow);
      if (allowed <= 0) {
        this.session.waitForWindow(this);
        return;
      }
      const piece = chunk.subarray(0, allowed);
      this.sendWindow -= piece.length;
      this.session.sendWindow -= piece.length;
      this.session.sendData(this.id, piece);
      if (allowed < chunk.length) {
        this.pending = { chunk: chunk.subarray(allowed), cb };
        continue;
      }
      this.pending = undefined;
      this.session.afterDrain(() => cb());
    }
    if (this.finalCb) {
      const cb = this.finalCb;
      this.finalCb = undefined;
      this.sendFin();
      cb();
    }
  }

  private sendFin(): void {
    if (this.localFin) return;
    this.localFin = true;
    this.session.send(encodeData(this.id, Buffer.alloc(0), true));
    this.session.maybeForget(this);
  }

  /**
   * Reopens the peer's windows for what our reader consumed: the session's at once (so that one
   * slow stream cannot starve the others of session window), the stream's in steps of half a window.
   */
  private credit(): void {
    const consumed = this.pushed - this.readableLength;
    if (consumed > this.sessionCredited) {
      this.session.creditSession(consumed - this.sessionCredited);
      this.sessionCredited = consumed;
    }
    const forStream = consumed - this.credited;
    if (forStream > 0 && (forStream >= DEFAULT_WINDOW / 2 || this.recvWindow <= DEFAULT_WINDOW / 2)) {
      this.credited = consumed;
      if (!this.remoteFin && !this.destroyed) {
        this.recvWindow += forStream;
        this.session.send(encodeWindowUpdate(this.id, forStream));
      }
    }
  }

  /** Every way of consuming (flowing mode, read(), pipes, iterators) goes through read(). */
  override read(size?: number): any {
    const chunk = super.read(size);
    if (chunk !== null) {
      this.credit();
      if (this.readableLength < this.readableHighWaterMark) this.session.setCongested(this, false);
    }
    return chunk;
  }

  override _read(): void {
    // The reader wants more: if a window-ignoring peer made us stop reading the socket, go on.
    this.session.setCongested(this, false);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.localFin) return cb(new Error(`stream ${this.id}: write after FIN`));
    this.pending = { chunk, cb };
    this.flush();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.finalCb = cb;
    this.flush();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!(this.localFin && this.remoteFin) && this.resetStatus === undefined) {
      this.resetStatus = RstStatus.CANCEL;
      this.session.sendReset(this.id, RstStatus.CANCEL);
    }
    this.rejectEstablished(new Error(`stream ${this.id} closed before it was established`));
    // Data nobody will read any more must not keep the session window shut.
    if (this.pushed > this.sessionCredited) this.session.creditSession(this.pushed - this.sessionCredited);
    this.sessionCredited = this.pushed;
    const pending = this.pending;
    this.pending = undefined;
    this.session.forget(this);
    pending?.cb(new Error(`stream ${this.id} was reset`));
    cb(err);
  }
}

/**
 * A SPDY/3.1 session. Events: 'stream' (a stream the peer opened: call reply() or reset()),
 * 'goaway' (the peer will open no more streams), 'close' (the transport is gone; every stream has
 * been destroyed).
 */
export class SpdySession extends EventEmitter {
  /** @internal the session-level send window (SPDY/3.1). */
  sendWindow = DEFAULT_WINDOW;
  private readonly streams = new Map<number, SpdyStream>();
  private readonly parser = new FrameParser();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly logger: Logger;
  private readonly strict: boolean;
  private readonly maxStreams: number;
  private peerDoesFlowControl = false;
  private peerInitialWindow = DEFAULT_WINDOW;
  private recvUncredited = 0;
  private nextStreamId: number;
  private lastPeerStreamId = 0;
  private nextPingId: number;
  private readonly pings = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private readonly queue: RawFrame[] = [];
  private processing = false;
  private readonly congested = new Set<SpdyStream>();
  private readonly windowWaiters = new Set<SpdyStream>();
  private drainWaiters: (() => void)[] = [];
  private paused = false;
  private transportEnded = false;
  private sentGoaway = false;
  private receivedGoaway = false;
  private closed = false;

  constructor(
    private readonly transport: Duplex,
    private readonly opts: SpdySessionOptions,
  ) {
    super();
    this.logger = opts.logger ?? silentLogger;
    this.strict = opts.flowControl === 'strict';
    this.maxStreams = opts.maxStreams ?? 1000;
    this.nextStreamId = opts.role === 'client' ? 1 : 2;
    this.nextPingId = opts.role === 'client' ? 1 : 2;
    transport.on('data', (chunk: Buffer) => this.onData(chunk));
    // Frames already received are still handled (a client may send its last data and hang up).
    const ended = () => {
      this.transportEnded = true;
      this.drainQueue();
    };
    transport.on('end', ended);
    transport.on('close', ended);
    transport.on('error', (err: Error) => {
      this.logger.debug({ err: err.message }, 'spdy transport error');
      ended();
    });
    transport.on('drain', () => {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    });
  }

  /** True once the transport is gone. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** True once the peer sent GOAWAY. */
  get peerWentAway(): boolean {
    return this.receivedGoaway;
  }

  /** Number of open streams. */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Opens a stream (SYN_STREAM). Writes wait for the peer's SYN_REPLY (see `established`). */
  openStream(headers: SpdyHeaders, opts: { fin?: boolean } = {}): SpdyStream {
    if (this.closed) throw new Error('SPDY session is closed');
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new SpdyStream(this, id, {}, false, this.peerInitialWindow);
    this.streams.set(id, stream);
    this.send(encodeSynStream(id, opts.fin ? FLAG_FIN : 0, this.compressor.compress(headers)));
    if (opts.fin) stream.localFin = true;
    return stream;
  }

  /** Sends a PING and resolves when the peer echoes it. */
  ping(): Promise<void> {
    const id = this.nextPingId;
    this.nextPingId += 2;
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('SPDY session is closed'));
      this.pings.set(id, { resolve, reject });
      this.send(encodePing(id));
    });
  }

  /** Tells the peer we accept no more streams (GOAWAY); open streams carry on. */
  goaway(status: number = GoawayStatus.OK): void {
    if (this.sentGoaway || this.closed) return;
    this.sentGoaway = true;
    this.send(encodeGoaway(this.lastPeerStreamId, status));
  }

  /** GOAWAY, then closes the transport once written. */
  close(): void {
    this.goaway();
    if (!this.transport.writableEnded) this.transport.end();
  }

  /** Drops the transport and every stream at once. */
  destroy(): void {
    this.transport.destroy();
    this.finish();
  }

  // ---- used by SpdyStream ----

  /** @internal */
  send(frame: Buffer): boolean {
    if (this.closed || this.transport.destroyed || this.transport.writableEnded) return true;
    return this.transport.write(frame);
  }

  /**
   * @internal a DATA frame as two corked writes: header then payload, so output streaming does not
   * copy (and garbage-collect) every chunk.
   */
  sendData(streamId: number, data: Buffer): boolean {
    if (this.closed || this.transport.destroyed || this.transport.writableEnded) return true;
    this.transport.cork();
    this.transport.write(encodeDataHeader(streamId, data.length, false));
    const ok = this.transport.write(data);
    this.transport.uncork();
    return ok;
  }

  /** @internal runs fn once the transport has room again (now if it has). */
  afterDrain(fn: () => void): void {
    if (this.closed || !this.transport.writableNeedDrain) fn();
    else this.drainWaiters.push(fn);
  }

  /** @internal */
  sendReply(stream: SpdyStream, headers: SpdyHeaders, fin: boolean): void {
    this.send(encodeSynReply(stream.id, fin ? FLAG_FIN : 0, this.compressor.compress(headers)));
  }

  /** @internal */
  sendReset(id: number, status: number): void {
    this.send(encodeRstStream(id, status));
  }

  /** @internal */
  enforcingPeerWindow(): boolean {
    return this.strict || this.peerDoesFlowControl;
  }

  /** @internal */
  waitForWindow(stream: SpdyStream): void {
    this.windowWaiters.add(stream);
  }

  /** @internal credits the session window for consumed bytes. */
  creditSession(bytes: number): void {
    this.recvUncredited += bytes;
    if (this.recvUncredited >= DEFAULT_WINDOW / 2) {
      this.send(encodeWindowUpdate(0, this.recvUncredited));
      this.recvUncredited = 0;
    }
  }

  /** @internal a stream whose reader lags behind a peer that overran its window. */
  setCongested(stream: SpdyStream, on: boolean): void {
    if (on) this.congested.add(stream);
    else this.congested.delete(stream);
    this.updatePause();
  }

  /** @internal both directions finished: the stream id is done. */
  maybeForget(stream: SpdyStream): void {
    if (stream.localFin && stream.remoteFin && stream.readableEnded) this.forget(stream);
  }

  /** @internal */
  forget(stream: SpdyStream): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
    this.windowWaiters.delete(stream);
    if (this.congested.delete(stream)) this.updatePause();
  }

  // ---- receiving ----

  private onData(chunk: Buffer): void {
    let frames: RawFrame[];
    try {
      frames = this.parser.push(chunk);
    } catch (err) {
      return this.protocolError(err);
    }
    for (const f of frames) this.queue.push(f);
    this.drainQueue();
  }

  /** Handles queued frames in order; header blocks need the (async) stateful decompressor. */
  private drainQueue(): void {
    if (this.processing) return;
    this.processing = true;
    const run = async () => {
      while (this.queue.length > 0 && !this.closed) {
        const frame = this.queue.shift()!;
        let headers: SpdyHeaders | undefined;
        if ('headerBlock' in frame) headers = parseHeaderBlock(await this.decompressor.decompress(frame.headerBlock));
        this.handle(frame, headers);
        this.updatePause();
      }
    };
    run().then(
      () => {
        this.processing = false;
        if (this.queue.length > 0 && !this.closed) this.drainQueue();
        else if (this.transportEnded) this.finish();
      },
      (err: unknown) => {
        this.processing = false;
        this.protocolError(err);
      },
    );
    this.updatePause();
  }

  private handle(f: RawFrame, headers: SpdyHeaders | undefined): void {
    switch (f.type) {
      case 'data': {
        const stream = this.streams.get(f.streamId);
        if (!stream) {
          this.creditSession(f.data.length);
          // Data racing our RST or close of a known id is dropped; an id never seen is an error.
          if (!this.isKnownId(f.streamId)) this.sendReset(f.streamId, RstStatus.INVALID_STREAM);
          return;
        }
        if (stream.remoteFin) {
          this.creditSession(f.data.length);
          stream.resetStatus = RstStatus.STREAM_ALREADY_CLOSED;
          this.sendReset(f.streamId, RstStatus.STREAM_ALREADY_CLOSED);
          stream.destroy();
          return;
        }
        stream.receive(f.data, (f.flags & FLAG_FIN) !== 0);
        return;
      }
      case 'syn_stream':
        return this.onSynStream(f.streamId, f.flags, headers ?? {});
      case 'syn_reply': {
        const stream = this.streams.get(f.streamId);
        if (!stream || stream.incoming) return;
        stream.markEstablished(headers ?? {});
        if (f.flags & FLAG_FIN) stream.receiveFin();
        return;
      }
      case 'headers': {
        const stream = this.streams.get(f.streamId);
        if (stream && f.flags & FLAG_FIN) stream.receiveFin();
        return;
      }
      case 'rst_stream':
        this.streams.get(f.streamId)?.receiveReset(f.status);
        return;
      case 'settings':
        for (const e of f.entries) {
          if (e.id === SettingId.INITIAL_WINDOW_SIZE) {
            const delta = e.value - this.peerInitialWindow;
            this.peerInitialWindow = e.value;
            this.peerDoesFlowControl = true;
            for (const s of this.streams.values()) s.sendWindow += delta;
            this.wakeWindowWaiters();
          }
        }
        return;
      case 'ping': {
        const ours = (f.id % 2) === (this.opts.role === 'client' ? 1 : 0);
        if (!ours) this.send(encodePing(f.id));
        else {
          this.pings.get(f.id)?.resolve();
          this.pings.delete(f.id);
        }
        return;
      }
      case 'goaway':
        this.receivedGoaway = true;
        this.emit('goaway', f.status);
        return;
      case 'window_update':
        this.peerDoesFlowControl = true;
        if (f.streamId === 0) this.sendWindow += f.delta;
        else {
          const s = this.streams.get(f.streamId);
          if (s) s.sendWindow += f.delta;
        }
        this.wakeWindowWaiters();
        return;
      case 'unknown':
        return;
    }
  }

  private onSynStream(id: number, flags: number, headers: SpdyHeaders): void {
    const peerParity = this.opts.role === 'server' ? 1 : 0;
    if (id === 0 || id % 2 !== peerParity || id <= this.lastPeerStreamId) {
      this.sendReset(id, RstStatus.PROTOCOL_ERROR);
      return;
    }
    this.lastPeerStreamId = id;
    if (this.sentGoaway || this.streams.size >= this.maxStreams || this.listenerCount('stream') === 0) {
      this.sendReset(id, RstStatus.REFUSED_STREAM);
      return;
    }
    const stream = new SpdyStream(this, id, headers, true, this.peerInitialWindow);
    this.streams.set(id, stream);
    if (flags & FLAG_UNIDIRECTIONAL) stream.localFin = true;
    if (flags & FLAG_FIN) stream.receiveFin();
    this.emit('stream', stream);
  }

  private isKnownId(id: number): boolean {
    const peerParity = this.opts.role === 'server' ? 1 : 0;
    return id % 2 === peerParity ? id <= this.lastPeerStreamId : id < this.nextStreamId;
  }

  private wakeWindowWaiters(): void {
    const waiters = [...this.windowWaiters];
    this.windowWaiters.clear();
    for (const s of waiters) s.flush();
  }

  private updatePause(): void {
    const shouldPause = this.congested.size > 0 || this.queue.length > MAX_QUEUED_FRAMES;
    if (shouldPause === this.paused || this.closed) return;
    this.paused = shouldPause;
    if (shouldPause) this.transport.pause();
    else this.transport.resume();
  }

  private protocolError(err: unknown): void {
    if (this.closed) return;
    const message = messageOf(err);
    if (!(err instanceof FrameError || err instanceof HeaderBlockError)) this.logger.warn({ err: message }, 'spdy session failed');
    else this.logger.info({ err: message }, 'spdy protocol error from peer');
    this.goaway(GoawayStatus.PROTOCOL_ERROR);
    this.finish();
  }

  /** The transport is gone (or going): every stream ends, the session closes once. */
  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    for (const s of [...this.streams.values()]) {
      // No RST on a dead transport: mark the stream reset so _destroy stays quiet.
      s.resetStatus ??= RstStatus.CANCEL;
      s.destroy();
    }
    this.streams.clear();
    for (const w of this.drainWaiters) w();
    this.drainWaiters = [];
    for (const p of this.pings.values()) p.reject(new Error('SPDY session closed'));
    this.pings.clear();
    this.decompressor.close();
    if (!this.transport.destroyed) {
      // Flush what we wrote (a GOAWAY, a last status) and FIN; the peer's FIN or a grace period
      // then releases the socket.
      this.transport.end();
      setTimeout(() => this.transport.destroy(), 5000).unref();
    }
    this.emit('close');
  }
}
