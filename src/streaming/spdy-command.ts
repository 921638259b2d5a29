/**
 * Exec and attach over SPDY: the client opens one stream per channel, named by its `streamType`
 * header (error, stdin, stdout, stderr, resize); once the ones its request promised exist, the
 * command runs (remote-command.ts).
 */
import type { Logger } from '../lib/index.js';
import type { StreamIO } from './backend.js';
import { serveCommand, endWritable } from './remote-command.js';
import type { SpdySession, SpdyStream } from './spdy-session.js';
import { RstStatus } from './spdy-frames.js';

/** The channels a request asked for. */
export interface ChannelRequest {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

const STREAM_TYPES = new Set(['error', 'stdin', 'stdout', 'stderr', 'resize']);

/** The stream types a client of this protocol version creates for the request. */
export function expectedStreamTypes(version: number, req: ChannelRequest): string[] {
  const types = ['error'];
  if (req.stdin) types.push('stdin');
  if (req.stdout) types.push('stdout');
  if (req.stderr && !req.tty) types.push('stderr');
  if (req.tty && version >= 3) types.push('resize');
  return types;
}

/**
 * Serves one exec/attach session on an upgraded SPDY connection. Resolves when the command is over
 * and the client has closed the connection (or `lingerMs` later).
 */
export async function serveSpdyCommand(opts: {
  session: SpdySession;
  version: number;
  request: ChannelRequest;
  run: (io: StreamIO) => Promise<{ exitCode: number } | void>;
  logger: Logger;
  /** How long the client may take to create its streams. */
  streamTimeoutMs: number;
  /** How long to wait for the client to close the connection after the outcome is written. */
  lingerMs: number;
  /** How long a TTY session waits for the client's first terminal size. */
  firstSizeWaitMs?: number;
}): Promise<void> {
  const { session, version, request, logger } = opts;
  const streams = new Map<string, SpdyStream>();
  const expected = expectedStreamTypes(version, request);
  const closed = new Promise<void>((resolve) => session.once('close', resolve));
  const ac = new AbortController();
  session.once('close', () => ac.abort());

  const ready = new Promise<boolean>((resolve) => {
    const check = () => {
      if (expected.every((t) => streams.has(t))) resolve(true);
    };
    session.on('stream', (stream: SpdyStream) => {
      const type = stream.header('streamtype') ?? '';
      if (!STREAM_TYPES.has(type) || streams.has(type)) {
        logger.debug({ type }, 'refusing unexpected stream');
        stream.reset(RstStatus.PROTOCOL_ERROR);
        return;
      }
      streams.set(type, stream);
      stream.reply();
      // Streams the client only reads from (and error, which it never writes) are drained so their
      // FIN is seen; stdin and resize are read by the command.
      if (type !== 'stdin' && type !== 'resize') stream.resume();
      check();
    });
    session.once('close', () => resolve(false));
    const timer = setTimeout(() => resolve(false), opts.streamTimeoutMs);
    timer.unref();
    void closed.then(() => clearTimeout(timer));
    check();
  });

  if (!(await ready)) {
    if (!session.isClosed) {
      logger.info({ have: [...streams.keys()], expected }, 'client did not create its streams in time');
      session.destroy();
    }
    return;
  }

  await serveCommand(
    {
      version,
      stdin: streams.get('stdin'),
      stdout: streams.get('stdout'),
      stderr: streams.get('stderr'),
      resize: streams.get('resize'),
      error: streams.get('error')!,
      signal: ac.signal,
      firstSizeWaitMs: opts.firstSizeWaitMs,
    },
    opts.run,
    logger,
  );
  // Half-close every stream from our side. The connection itself is the client's to close: it does
  // once it has read the outcome, and closing it first could drop frames it has not processed yet
  // (spdystream discards its queued frames when the connection goes).
  for (const s of streams.values()) void endWritable(s);
  const linger = setTimeout(() => session.destroy(), opts.lingerMs);
  linger.unref();
  await closed;
  clearTimeout(linger);
}
