import { spawn } from 'node:child_process';
import { closeSync, constants as fsc, openSync, unlinkSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CoreletError } from '../../lib/index.js';
import { isProcessAlive } from './process-alive.js';

/**
 * Pipes for an exec'd process's stdio. Node hands a child socketpairs for 'pipe', and a process
 * whose stdout is a socket cannot open /dev/stdout or /dev/stderr (ENXIO: `echo x > /dev/stderr`
 * fails), so exec'd processes get real pipes, as conmon and containerd's shim give them: FIFOs,
 * each opened once by us and once for the child, then unlinked. Node has no mkfifo, so a pool
 * makes them in batches with one `mkfifo` run (one process per batch, not per exec).
 */
export class FifoPool {
  private readonly dir: string;
  private ready: string[] = [];
  private refilling: Promise<void> | undefined;
  private initialized: Promise<void> | undefined;

  /**
   * @param parent folder the pool's own folder (fifos-<pid>) goes under
   * @param batch FIFOs made per `mkfifo` run
   */
  constructor(
    private readonly parent: string,
    private readonly batch = 30,
    private readonly mkfifoPath = 'mkfifo',
  ) {
    this.dir = join(parent, `fifos-${process.pid}`);
  }

  /** n fresh FIFO paths, never opened before; the caller unlinks them. */
  async take(n: number): Promise<string[]> {
    while (this.ready.length < n) await this.refill();
    const out = this.ready.splice(0, n);
    if (this.ready.length < this.batch / 2) void this.refill().catch(() => undefined);
    return out;
  }

  /** Removes the pool's folder (and the FIFOs nobody took). */
  async close(): Promise<void> {
    await this.refilling?.catch(() => undefined);
    this.ready = [];
    await rm(this.dir, { recursive: true, force: true });
  }

  private refill(): Promise<void> {
    this.refilling ??= this.makeBatch().finally(() => (this.refilling = undefined));
    return this.refilling;
  }

  private async makeBatch(): Promise<void> {
    // a failed first init (a passing mkdir/rm error) is tried again by the next batch, not kept
    this.initialized ??= this.init().catch((err: unknown) => {
      this.initialized = undefined;
      throw err;
    });
    await this.initialized;
    const names = Array.from({ length: this.batch }, () => join(this.dir, randomBytes(8).toString('hex')));
    await new Promise<void>((resolve, reject) => {
      const child = spawn(this.mkfifoPath, ['-m', '600', ...names], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', (err) => reject(new CoreletError('Unavailable', `exec: cannot run ${this.mkfifoPath}: ${err.message}`, { cause: err })));
      child.once('close', (code) => {
        if (code === 0) resolve();
        else reject(new CoreletError('Internal', `exec: mkfifo in ${this.dir} exited ${code}: ${stderr.trim()}`));
      });
    });
    this.ready.push(...names);
  }

  /** Makes the pool's folder; removes those of pools whose daemon is gone. */
  private async init(): Promise<void> {
    for (const name of await readdir(this.parent).catch(() => [] as string[])) {
      const m = /^fifos-(\d+)$/.exec(name);
      if (m && Number(m[1]) !== process.pid && !(await isProcessAlive(Number(m[1])))) {
        await rm(join(this.parent, name), { recursive: true, force: true }).catch(() => undefined);
      }
    }
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }
}

/** The two sides of an exec'd process's stdio: fds to hand the child, and our streams. */
export interface ExecStdio {
  /** stdio for spawn: the child's ends (stdin is /dev/null when not asked for). */
  readonly childStdio: [number | 'ignore', number, number];
  /** Our end of the process's stdin, when asked for. */
  readonly stdin?: Socket;
  readonly stdout: Socket;
  readonly stderr: Socket;
  /** Closes our copies of the child's ends: once the child has them (after spawn), or on failure. */
  closeChildEnds(): void;
  /** Destroys our ends too (after closeChildEnds): for a session that ended or failed. */
  destroy(): void;
}

/**
 * Pipes for one exec: stdout and stderr (and stdin when wanted) from fresh FIFOs of the pool.
 * The child's ends are blocking (programs expect that); ours are separate open file descriptions
 * that Node makes non-blocking, so neither side changes the other's mode. Node opens every file
 * close-on-exec, so no other child inherits an end (which would keep a pipe from ending).
 */
export async function openExecStdio(pool: FifoPool, want: { stdin: boolean }): Promise<ExecStdio> {
  const paths = await pool.take(want.stdin ? 3 : 2);
  const opened: number[] = [];
  const open = (path: string, flags: number) => {
    const fd = openSync(path, flags);
    opened.push(fd);
    return fd;
  };
  try {
    // Output: our read end first (non-blocking open succeeds without a writer), then the child's
    // write end (a blocking open returns at once, as a reader exists).
    const output = (path: string) => {
      const ours = open(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
      const theirs = open(path, fsc.O_WRONLY);
      unlinkSync(path);
      return { ours, theirs };
    };
    const out = output(paths[0]!);
    const err = output(paths[1]!);
    let input: { ours: number; theirs: number } | undefined;
    if (want.stdin) {
      // Input: a placeholder reader lets our write end open; the child's blocking read end then
      // opens at once (a writer exists), and the placeholder goes.
      const path = paths[2]!;
      const placeholder = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
      try {
        const ours = open(path, fsc.O_WRONLY | fsc.O_NONBLOCK);
        const theirs = open(path, fsc.O_RDONLY);
        input = { ours, theirs };
      } finally {
        closeSync(placeholder);
        unlinkSync(path);
      }
    }
    const childEnds = [out.theirs, err.theirs, ...(input ? [input.theirs] : [])];
    let childEndsOpen = true;
    const closeChildEnds = () => {
      if (!childEndsOpen) return;
      childEndsOpen = false;
      for (const fd of childEnds) closeSync(fd);
    };
    const stdout = new Socket({ fd: out.ours, readable: true, writable: false });
    const stderr = new Socket({ fd: err.ours, readable: true, writable: false });
    const stdin = input ? new Socket({ fd: input.ours, readable: false, writable: true }) : undefined;
    stdin?.on('error', () => undefined); // EPIPE once the process is gone: its exit tells the rest
    return {
      childStdio: [input ? input.theirs : 'ignore', out.theirs, err.theirs],
      stdin,
      stdout,
      stderr,
      closeChildEnds,
      destroy() {
        closeChildEnds();
        stdout.destroy();
        stderr.destroy();
        stdin?.destroy();
      },
    };
  } catch (err) {
    for (const fd of opened) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
    for (const p of paths) {
      try {
        unlinkSync(p);
      } catch {
        // already unlinked
      }
    }
    throw new CoreletError('Internal', `exec: cannot open stdio pipes: ${(err as Error).message}`, { cause: err });
  }
}
