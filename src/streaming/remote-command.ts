/**
 * The remotecommand protocol core shared by exec and attach, independent of the transport (SPDY
 * streams or WebSocket channels): wires the client's channels to a backend's StreamIO, parses
 * terminal resizes, and reports the outcome on the error channel the way each protocol version
 * expects it (v4 and later: a metav1.Status JSON carrying the exit code; earlier: a plain message).
 */
import { PassThrough, Writable, type Readable } from 'node:stream';
import type { Logger } from '../lib/index.js';
import type { StreamIO, TerminalSize } from './backend.js';

/** Subprotocols we serve over SPDY, best first (client-go offers v5 too; over SPDY it equals v4). */
export const SPDY_COMMAND_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

/** WebSocket subprotocols we serve, best first (base64 variants send text frames). */
export const WEBSOCKET_COMMAND_PROTOCOLS = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v4.base64.channel.k8s.io',
  'channel.k8s.io',
  'base64.channel.k8s.io',
];

/** The protocol version (1 to 5) a subprotocol name stands for; "" is the original channel.k8s.io. */
export function protocolVersion(name: string): number {
  const m = /^v(\d)\./.exec(name);
  return m ? Number(m[1]) : 1;
}

/** Picks the first of the client's protocols (in its order of preference) that we serve. */
export function negotiate(clientProtocols: string[], ours: string[]): string | undefined {
  return clientProtocols.find((p) => ours.includes(p));
}

/** Splits comma-separated header values, as clients may send one header per protocol or a list. */
export function headerList(value: string | string[] | undefined): string[] {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v.length > 0);
}

/** What the transport hands over once the client's channels exist. */
export interface CommandChannels {
  /** 1 to 5, from the negotiated subprotocol. */
  version: number;
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /** JSON terminal sizes, one per line ({"Width":80,"Height":24}). */
  resize?: Readable;
  /** Receives the outcome; ended by serveCommand. */
  error: Writable;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** With a resize channel: how long the process waits for the client's first size ({@link FIRST_SIZE_WAIT_MS}). */
  firstSizeWaitMs?: number;
}

/**
 * How long a TTY session waits for the client's first terminal size before its process starts.
 * kubectl and crictl send it right after the handshake, but through the scheduler and the agent it
 * can come after the process has started, which would then see a 0x0 terminal (`stty size` fails, a
 * full-screen program draws nothing until the next resize). A client that sends none costs this much.
 */
export const FIRST_SIZE_WAIT_MS = 500;

/** How a command ended: an exit code (exec), nothing (attach), or an error. */
export type CommandOutcome = { exitCode: number } | { error: Error } | Record<string, never>;

/** The error-channel payload for an outcome, or undefined when nothing is to be written. */
export function outcomeMessage(version: number, outcome: CommandOutcome): string | undefined {
  const exitCode = 'exitCode' in outcome ? outcome.exitCode & 0xff : 0;
  if (version >= 4) {
    if ('error' in outcome) {
      const message = outcome.error.message;
      return JSON.stringify({
        metadata: {},
        status: 'Failure',
        message,
        reason: 'InternalError',
        details: { causes: [{ message }] },
        code: 500,
      });
    }
    if (exitCode === 0) return JSON.stringify({ metadata: {}, status: 'Success' });
    return JSON.stringify({
      metadata: {},
      status: 'Failure',
      message: `command terminated with non-zero exit code: exit status ${exitCode}`,
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
    });
  }
  if ('error' in outcome) return outcome.error.message;
  if (exitCode !== 0) return `command terminated with non-zero exit code: exit status ${exitCode}`;
  return undefined;
}

/**
 * Runs one exec or attach session over ready channels: calls run with the client's streams, then
 * flushes and half-closes stdout/stderr, writes the outcome to the error channel and ends it.
 * Resolves once everything is written (or the client is gone).
 */
export async function serveCommand(
  ch: CommandChannels,
  run: (io: StreamIO) => Promise<{ exitCode: number } | void>,
  logger: Logger,
): Promise<void> {
  const outputs: Writable[] = [];
  const forward = (target: Writable | undefined): Writable | undefined => {
    if (!target) return undefined;
    // The backend gets its own Writable: whatever it does to it (end, destroy, pipe) cannot reset the
    // transport stream, and a client that went away costs it no errors (the signal tells it).
    const w = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (target.destroyed || target.writableEnded) return cb();
        target.write(chunk, () => cb());
      },
    });
    w.on('error', () => {});
    outputs.push(w);
    return w;
  };

  let stdin: PassThrough | undefined;
  if (ch.stdin) {
    const source = ch.stdin;
    const pt = new PassThrough();
    stdin = pt;
    source.pipe(pt);
    // A reset stdin stream never ends: give the process its EOF all the same.
    source.once('close', () => pt.end());
  }

  const listeners: ((size: TerminalSize) => void)[] = [];
  let lastSize: TerminalSize | undefined;
  let sizeArrived = () => {};
  if (ch.resize) parseResizes(ch.resize, logger, (size) => {
    lastSize = size;
    sizeArrived();
    for (const l of listeners) l(size);
  });
  if (ch.resize && !lastSize && !ch.signal.aborted) {
    const resize = ch.resize;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        sizeArrived = () => {};
        ch.signal.removeEventListener('abort', done);
        resize.off('end', done);
        resize.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, ch.firstSizeWaitMs ?? FIRST_SIZE_WAIT_MS);
      sizeArrived = done;
      ch.signal.addEventListener('abort', done);
      resize.once('end', done);
      resize.once('close', done);
    });
  }

  const io: StreamIO = {
    stdin,
    stdout: forward(ch.stdout),
    stderr: forward(ch.stderr),
    onResize(listener) {
      listeners.push(listener);
      // The client sends its size first thing, often before the backend listens: replay it.
      if (lastSize) listener(lastSize);
    },
    signal: ch.signal,
  };

  let outcome: CommandOutcome;
  try {
    const result = await run(io);
    outcome = result && typeof result.exitCode === 'number' ? { exitCode: result.exitCode } : {};
  } catch (err) {
    outcome = { error: err instanceof Error ? err : new Error(String(err)) };
    logger.info({ err: outcome.error.message }, 'streaming command failed');
  }
  if (ch.stdin && stdin) {
    // Whatever the client still types goes nowhere, but keep reading so the transport never stalls.
    ch.stdin.unpipe(stdin);
    ch.stdin.resume();
    stdin.destroy();
  }
  if (ch.signal.aborted) return;

  // Everything the backend wrote reaches the transport before the FINs and the status.
  await Promise.all(outputs.map((w) => new Promise<void>((resolve) => {
    if (w.writableFinished || w.destroyed) return resolve();
    w.once('finish', resolve);
    w.once('close', resolve);
    w.end();
  })));
  await Promise.all([ch.stdout, ch.stderr].map((t) => endWritable(t)));
  const message = outcomeMessage(ch.version, outcome);
  if (message !== undefined && !ch.error.destroyed) ch.error.write(message);
  await endWritable(ch.error);
}

/** Ends a writable and waits until it has flushed (or died). */
export function endWritable(w: Writable | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!w || w.writableFinished || w.destroyed) return resolve();
    w.once('finish', () => resolve());
    w.once('close', () => resolve());
    w.end();
  });
}

/** Reads newline-separated JSON sizes ({"Width":w,"Height":h}) and reports each valid one. */
export function parseResizes(source: Readable, logger: Logger, onSize: (size: TerminalSize) => void): void {
  let buffered = '';
  source.setEncoding('utf8');
  source.on('data', (text: string) => {
    buffered += text;
    if (buffered.length > 64 * 1024) buffered = ''; // garbage without newlines: drop it
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line.length > 0) handle(line);
    }
  });
  // A WebSocket client may send one object per message without a newline.
  source.on('end', () => {
    if (buffered.trim().length > 0) handle(buffered.trim());
  });
  const handle = (line: string) => {
    try {
      const v = JSON.parse(line) as { Width?: unknown; Height?: unknown };
      const width = Number(v.Width);
      const height = Number(v.Height);
      if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0 || width > 0xffff || height > 0xffff) {
        throw new Error('Width and Height must be 16-bit unsigned integers');
      }
      onSize({ width, height });
    } catch (err) {
      logger.debug({ line, err: String(err) }, 'ignoring malformed terminal resize');
    }
  };
}
