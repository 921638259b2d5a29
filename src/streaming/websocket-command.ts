/**
 * Exec and attach over WebSocket (the channel.k8s.io family): every message starts with its
 * channel number (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize), the base64 variants send text
 * messages with the channel as an ASCII digit and base64 data, and v5 adds the close signal
 * [255, channel] by which the client half-closes stdin. The channels exist from the start (the
 * request says which), and the server closes the WebSocket normally once the outcome is written.
 */
import { PassThrough, Writable } from 'node:stream';
import type { WebSocket, RawData } from 'ws';
import type { Logger } from '../lib/index.js';
import type { StreamIO } from './backend.js';
import { protocolVersion, serveCommand } from './remote-command.js';
import type { ChannelRequest } from './spdy-command.js';

const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE_SIGNAL = 255;

/** Serves one exec/attach session on an accepted WebSocket; resolves once it has closed. */
export async function serveWebSocketCommand(opts: {
  ws: WebSocket;
  protocol: string;
  request: ChannelRequest;
  run: (io: StreamIO) => Promise<{ exitCode: number } | void>;
  logger: Logger;
  firstSizeWaitMs?: number;
}): Promise<void> {
  const { ws, protocol, request, logger } = opts;
  const version = protocolVersion(protocol);
  const base64 = protocol.includes('base64');
  const ac = new AbortController();
  const closed = new Promise<void>((resolve) => ws.once('close', () => {
    ac.abort();
    resolve();
  }));
  ws.on('error', (err) => logger.debug({ err: err.message }, 'websocket error'));

  const send = (channel: number, data: Buffer, cb: () => void) => {
    if (ws.readyState !== ws.OPEN) return cb();
    if (base64) ws.send(String.fromCharCode(48 + channel) + data.toString('base64'), () => cb());
    else ws.send(Buffer.concat([Buffer.from([channel]), data]), { binary: true }, () => cb());
  };
  const output = (channel: number) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        send(channel, chunk, () => cb());
      },
    });

  const stdin = request.stdin ? new PassThrough() : undefined;
  const resize = request.tty && version >= 4 ? new PassThrough() : undefined;
  // Indexed by channel: 0 stdin, 4 resize.
  const inputs: (PassThrough | undefined)[] = [stdin, undefined, undefined, undefined, resize];

  ws.on('message', (raw: RawData) => {
    let msg = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
    if (msg.length === 0) return;
    if (version >= 5 && msg[0] === CLOSE_SIGNAL) {
      if (msg.length === 2) inputs[msg[1]!]?.end();
      return;
    }
    let channel = msg[0]!;
    if (base64) {
      channel -= 48;
      msg = Buffer.from(msg.subarray(1).toString('latin1'), 'base64');
    } else {
      msg = msg.subarray(1);
    }
    const target = inputs[channel];
    if (!target || target.writableEnded) return;
    // One size per message; a client may leave out the newline the resize parser splits on.
    if (channel === RESIZE && msg[msg.length - 1] !== 0x0a) msg = Buffer.concat([msg, Buffer.from('\n')]);
    if (!target.write(msg)) {
      // The command reads stdin slower than the client types: stop reading the socket meanwhile.
      ws.pause();
      target.once('drain', () => ws.resume());
    }
  });
  ws.once('close', () => {
    for (const input of inputs) input?.end();
  });

  const stdout = request.stdout ? output(STDOUT) : undefined;
  const stderr = request.stderr && !request.tty ? output(STDERR) : undefined;
  const error = output(ERROR);
  // Tell the client the connection is ready with an empty message on the first channel it reads,
  // as the kubelet does.
  send(stdout ? STDOUT : stderr ? STDERR : ERROR, Buffer.alloc(0), () => {});

  await serveCommand({ version, stdin, stdout, stderr, resize, error, signal: ac.signal, firstSizeWaitMs: opts.firstSizeWaitMs }, opts.run, logger);
  if (ws.readyState === ws.OPEN) ws.close(1000);
  await closed;
}
