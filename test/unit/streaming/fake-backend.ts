/**
 * A StreamingBackend for tests: commands chosen by name, attach that echoes, port-forward to
 * 127.0.0.1. Shared by the unit tests and the crictl integration test.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { StreamingBackend, StreamIO, ExecRequest } from '../../../src/streaming/index.js';

/**
 * The fake backend's commands:
 * - `cat`: stdin to stdout until stdin ends; exit 0.
 * - `sh -c 'exit N'`: exit N.
 * - `echo ARGS...`: prints the args; `echo-err ARGS...` prints them to stderr.
 * - `fail`: the backend throws; `wait`: runs until the client goes away.
 * - `big N`: N bytes of 'x' then a newline on stdout.
 * - `tty-test` (with a TTY): prints `size=WxH` for every resize, echoes stdin, exits on 'q'.
 * - `start-size` (with a TTY): prints the terminal size it starts with (`start=WxH`, or `start=none`).
 * attach: prints `attached to ID`, then echoes stdin until it ends.
 * portForward: connects to 127.0.0.1:PORT (the test's echo server).
 */
export class FakeBackend implements StreamingBackend {
  readonly execs: ExecRequest[] = [];
  /** Sessions whose signal aborted while the command still ran (the client went away). */
  aborted = 0;
  private abortWaiters: (() => void)[] = [];

  async exec(req: ExecRequest, io: StreamIO): Promise<{ exitCode: number }> {
    this.execs.push(req);
    const onAbort = () => {
      this.aborted++;
      for (const w of this.abortWaiters.splice(0)) w();
    };
    io.signal.addEventListener('abort', onAbort);
    try {
      return await this.run(req, io);
    } finally {
      io.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Resolves at the next abort of a running command. */
  nextAbort(): Promise<void> {
    return new Promise((r) => this.abortWaiters.push(r));
  }

  private async run(req: ExecRequest, io: StreamIO): Promise<{ exitCode: number }> {
    const [cmd, ...args] = req.cmd;
    switch (cmd) {
      case 'cat':
        await pump(io, (chunk) => io.stdout?.write(chunk));
        return { exitCode: 0 };
      case 'sh': {
        const m = /^exit (\d+)$/.exec(args[1] ?? '');
        return { exitCode: m ? Number(m[1]) : 127 };
      }
      case 'echo':
        io.stdout?.write(`${args.join(' ')}\n`);
        return { exitCode: 0 };
      case 'fail':
        throw new Error('container is not running');
      case 'wait':
        // Runs until the client goes away.
        await new Promise<void>((r) => io.signal.addEventListener('abort', () => r()));
        return { exitCode: 0 };
      case 'echo-err':
        io.stderr?.write(`${args.join(' ')}\n`);
        return { exitCode: 0 };
      case 'big': {
        const n = Number(args[0]);
        const chunk = Buffer.alloc(64 * 1024, 'x');
        for (let sent = 0; sent < n; sent += chunk.length) {
          const piece = chunk.subarray(0, Math.min(chunk.length, n - sent));
          if (!io.stdout!.write(piece)) await new Promise((r) => io.stdout!.once('drain', r));
        }
        io.stdout!.write('\n');
        return { exitCode: 0 };
      }
      case 'start-size': {
        let first: string | undefined;
        io.onResize((s) => (first ??= `${s.width}x${s.height}`));
        io.stdout?.write(`start=${first ?? 'none'}\r\n`);
        return { exitCode: 0 };
      }
      case 'tty-test': {
        io.onResize((s) => io.stdout?.write(`size=${s.width}x${s.height}\r\n`));
        let done: () => void = () => {};
        const finished = new Promise<void>((r) => (done = r));
        io.stdin?.on('data', (chunk: Buffer) => {
          io.stdout?.write(`got:${chunk.toString()}\r\n`);
          if (chunk.includes('q')) done();
        });
        io.stdin?.on('end', done);
        io.signal.addEventListener('abort', done);
        await finished;
        return { exitCode: 0 };
      }
      default:
        io.stderr?.write(`${cmd}: not found\n`);
        return { exitCode: 127 };
    }
  }

  async attach(req: { containerId: string; tty: boolean }, io: StreamIO): Promise<void> {
    io.onResize((s) => io.stdout?.write(`size=${s.width}x${s.height}\r\n`));
    io.stdout?.write(`attached to ${req.containerId}\n`);
    if (io.stdin) await pump(io, (chunk) => io.stdout?.write(chunk));
  }

  async portForward(req: { podSandboxId: string; port: number }, signal: AbortSignal): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const conn = net.connect(req.port, '127.0.0.1');
      signal.addEventListener('abort', () => conn.destroy());
      conn.once('connect', () => {
        conn.off('error', reject);
        resolve(conn);
      });
      conn.once('error', reject);
    });
  }
}

/** Copies stdin to fn until it ends or the client goes away. */
function pump(io: StreamIO, fn: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve) => {
    if (!io.stdin) return resolve();
    io.stdin.on('data', fn);
    io.stdin.once('end', resolve);
    io.stdin.once('close', resolve);
    io.signal.addEventListener('abort', () => resolve());
  });
}
