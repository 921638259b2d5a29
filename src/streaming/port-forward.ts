/**
 * Port forwarding over a SPDY session (portforward.k8s.io): for every local connection the client
 * opens a pair of streams sharing a `requestID` header, `streamType: error` and `streamType: data`,
 * both naming the pod `port`. The data stream carries the TCP bytes both ways (a FIN on either side
 * half-closes the other); the error stream carries a message if forwarding failed, then ends.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from '../lib/index.js';
import type { StreamingBackend } from './backend.js';
import { RstStatus } from './spdy-frames.js';
import type { SpdySession, SpdyStream } from './spdy-session.js';
import { messageOf } from '../lib/index.js';

interface Pair {
  error?: SpdyStream;
  data?: SpdyStream;
  port: number;
  timer: NodeJS.Timeout;
}

/** Serves port-forward streams until the session closes. */
export async function servePortForward(opts: {
  session: SpdySession;
  podSandboxId: string;
  /** Ports the request allowed; empty or absent allows any. */
  ports?: number[];
  backend: StreamingBackend;
  logger: Logger;
  /** How long the second stream of a pair may take to arrive. */
  streamTimeoutMs: number;
}): Promise<void> {
  const { session, podSandboxId, backend, logger } = opts;
  const allowed = opts.ports ?? [];
  const pairs = new Map<string, Pair>();
  const closed = new Promise<void>((resolve) => session.once('close', resolve));

  session.on('stream', (stream: SpdyStream) => {
    const type = stream.header('streamtype');
    const portText = stream.header('port') ?? '';
    const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if ((type !== 'data' && type !== 'error') || !(port >= 1 && port <= 65535)) {
      logger.debug({ type, port: portText }, 'refusing port-forward stream');
      stream.reset(RstStatus.PROTOCOL_ERROR);
      return;
    }
    // Old clients sent no requestID: the pair is then the error stream and the data stream after it.
    const requestId = stream.header('requestid') ?? String(type === 'error' ? stream.id : stream.id - 2);
    let pair = pairs.get(requestId);
    if (!pair) {
      const timer = setTimeout(() => {
        pairs.delete(requestId);
        const p = pair!;
        void fail(p, `timed out waiting for the ${p.data ? 'error' : 'data'} stream of request ${requestId}`);
      }, opts.streamTimeoutMs);
      timer.unref();
      pair = { port, timer };
      pairs.set(requestId, pair);
    }
    if (pair[type] || pair.port !== port) {
      stream.reset(RstStatus.PROTOCOL_ERROR);
      return;
    }
    pair[type] = stream;
    stream.reply();
    // The client half-closes its error stream at once and never writes to it.
    if (type === 'error') stream.resume();
    if (pair.error && pair.data) {
      clearTimeout(pair.timer);
      pairs.delete(requestId);
      void forward(pair.error, pair.data, port);
    }
  });
  void closed.then(() => {
    for (const p of pairs.values()) clearTimeout(p.timer);
  });

  /** Reports a failure on the error stream and ends the pair so the client stops waiting. */
  async function fail(p: { error?: SpdyStream; data?: SpdyStream }, message: string): Promise<void> {
    logger.info({ podSandboxId, err: message }, 'port-forward failed');
    if (p.error && !p.error.destroyed && !p.error.writableEnded) p.error.end(message);
    if (p.data && !p.data.destroyed && !p.data.writableEnded) p.data.end();
  }

  async function forward(error: SpdyStream, data: SpdyStream, port: number): Promise<void> {
    if (allowed.length > 0 && !allowed.includes(port)) {
      return fail({ error, data }, `port ${port} is not among the ports of this port-forward request (${allowed.join(', ')})`);
    }
    const ac = new AbortController();
    const abort = () => ac.abort();
    session.once('close', abort);
    data.once('close', abort);
    let conn: Duplex;
    try {
      conn = await backend.portForward({ podSandboxId, port }, ac.signal);
    } catch (err) {
      session.off('close', abort);
      return fail({ error, data }, `error forwarding port ${port} to pod ${podSandboxId}: ${messageOf(err)}`);
    }
    if (data.destroyed) {
      conn.destroy();
      return;
    }
    let failed = false;
    conn.on('error', (err: Error) => {
      failed = true;
      void fail({ error, data }, `error forwarding port ${port} to pod ${podSandboxId}: ${err.message}`);
    });
    // Client → pod: the client's FIN half-closes the pod connection. Pod → client: the pod's FIN
    // becomes ours.
    data.pipe(conn);
    conn.pipe(data);
    conn.once('close', () => {
      session.off('close', abort);
      if (!failed && !error.destroyed && !error.writableEnded) error.end();
      if (!data.destroyed && !data.writableEnded) data.end();
    });
    data.once('close', () => conn.destroy());
  }

  await closed;
}
