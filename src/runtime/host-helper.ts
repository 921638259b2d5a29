/**
 * The runtime's host operations on the pod path (mount, umount, the pod's namespaces) through ONE
 * long-lived `corelet-io serve` instead of a mount(8), umount(8) or unshare(1) per operation: a
 * pod start and stop ran nine of those programs (2 mount, unshare + ip, 5 umount), each a fork of
 * the 60-100 MiB daemon (~1 ms of CPU, the event loop stalled until the child exec'd, ~5 ms under
 * 20 parallel pod starts) plus the program itself (1-2.5 ms). The helper (~1 MiB) makes the same
 * system calls: mount(2), umount2(2), and for a netns a forked child that unshares and binds the
 * namespaces and sets lo up, as `unshare --net=F --ipc=F --uts=F ip link set lo up` did.
 * Each operation is made in a child the helper forks (one that blocks holds up only its own answer)
 * and answered when it ends; the helper ends when its stdin closes (the daemon's end).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { isMounted, hostMounts, type MountPort } from '../host/index.js';
import { CoreletError, internal, invalidArgument, type Logger } from '../lib/index.js';

/** mount(2) flags (linux/mount.h). */
export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  SYNCHRONOUS: 16,
  MANDLOCK: 64,
  DIRSYNC: 128,
  NOATIME: 1024,
  NODIRATIME: 2048,
  BIND: 4096,
  RELATIME: 1 << 21,
  STRICTATIME: 1 << 24,
  LAZYTIME: 1 << 25,
} as const;
/** umount2(2) MNT_DETACH: `umount --lazy`. */
export const MNT_DETACH = 2;

/** The helper's limits on one request (corelet-io.c SERVE_MAX_FIELD, SERVE_MAX_FIELDS): over them a request is refused alone. */
export const HELPER_MAX_FIELD_BYTES = 1024 * 1024;
export const HELPER_MAX_FIELDS = 1024;

/** A failed host operation: the errno and the helper's message. */
export class HostOpError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * mount(8)'s reading of an -o string for the flag words it knows (ro, nosuid, noexec, ...): the
 * MS_* bits and the rest as the filesystem's data. undefined when a word is one mount(8) treats
 * specially (bind, loop, user, x-..., ...): then mount(8) itself must run.
 */
export function mountOptions(options: string): { flags: number; data: string } | undefined {
  const set: Record<string, number> = {
    ro: MS.RDONLY,
    nosuid: MS.NOSUID,
    nodev: MS.NODEV,
    noexec: MS.NOEXEC,
    sync: MS.SYNCHRONOUS,
    mand: MS.MANDLOCK,
    dirsync: MS.DIRSYNC,
    noatime: MS.NOATIME,
    nodiratime: MS.NODIRATIME,
    relatime: MS.RELATIME,
    strictatime: MS.STRICTATIME,
    lazytime: MS.LAZYTIME,
  };
  const clear: Record<string, number> = {
    rw: MS.RDONLY,
    suid: MS.NOSUID,
    dev: MS.NODEV,
    exec: MS.NOEXEC,
    async: MS.SYNCHRONOUS,
    nomand: MS.MANDLOCK,
    atime: MS.NOATIME,
    diratime: MS.NODIRATIME,
    norelatime: MS.RELATIME,
    nostrictatime: MS.STRICTATIME,
    nolazytime: MS.LAZYTIME,
  };
  let flags = 0;
  const data: string[] = [];
  for (const word of options.split(',')) {
    if (word === '' || word === 'defaults') continue;
    if (word in set) flags |= set[word]!;
    else if (word in clear) flags &= ~clear[word]!;
    else if (word.includes('=') && !word.startsWith('x-')) data.push(word);
    else return undefined;
  }
  return { flags, data: data.join(',') };
}

/** How a program run by the helper ended (lib's ProgramResult, with the outputs as bytes). */
export interface HelperExecResult {
  /** undefined when it died of a signal. */
  exitCode: number | undefined;
  signal: NodeJS.Signals | undefined;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
}

/** Options of {@link HostHelper.exec}. */
export interface HelperExecOptions {
  /** Written to the program's stdin, then closed; without it stdin is /dev/null. */
  input?: string;
  /** The whole environment; without it, the helper's (this process's when the helper started). */
  env?: NodeJS.ProcessEnv;
  /** SIGKILL after this long; the result then says timedOut. */
  timeoutMs?: number;
}

interface Pending {
  resolve(value: HelperExecResult | undefined): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
  /** The helper it was sent to. */
  child: ChildProcess;
}

/** The daemon's own deadlines on the helper's answers. */
export interface HostHelperOptions {
  /** How long a mount, umount or netns may take (default 60 s). */
  opTimeoutMs?: number;
  /** An exec with a timeoutMs: how long past it the answer may come (default 5 s). */
  graceMs?: number;
}

/** Linux signal numbers as node names them (for an exec'd program's end). */
const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(osConstants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

/**
 * A `corelet-io serve` process, started on first use and again after it died. Requests carry an id:
 * mount, umount and netns are answered when the helper's child making them ends; an exec when its
 * program has ended (many run at the same time), with its exit and both outputs.
 */
export class HostHelper {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private buffered: Buffer = Buffer.alloc(0);
  /** Chunks not yet joined to buffered: an answer's outputs are joined once, when all have come. */
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  /** How many bytes the answer being read needs in all (0: not known yet). */
  private need = 0;
  private closed = false;

  private readonly opTimeoutMs: number;
  private readonly graceMs: number;

  private constructor(
    private readonly path: string,
    private readonly logger: Logger,
    opts: HostHelperOptions,
  ) {
    this.opTimeoutMs = opts.opTimeoutMs ?? 60_000;
    this.graceMs = opts.graceMs ?? 5_000;
  }

  /** The running helper's pid (none before the first request and after it ended). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The helper at path, or undefined when that file is no executable (not built): callers run the programs then. */
  static at(path: string, logger: Logger, opts: HostHelperOptions = {}): HostHelper | undefined {
    try {
      accessSync(path, constants.X_OK);
    } catch {
      logger.warn({ helper: path }, 'corelet-io not found: mounts and namespaces go through mount(8), umount(8) and unshare(1)');
      return undefined;
    }
    return new HostHelper(path, logger, opts);
  }

  /**
   * The helper at path once it proved it runs (a program started through it), else undefined with
   * an error logged: a corelet-io that is there but cannot run (wrong architecture, a bad
   * interpreter, a loader failure) must not fail every pod; the runtime then spawns the programs
   * itself (mount(8), umount(8), unshare(1), runc and the CNI plugins directly).
   */
  static async started(path: string, logger: Logger, opts: HostHelperOptions = {}): Promise<HostHelper | undefined> {
    const helper = HostHelper.at(path, logger, opts);
    if (!helper) return undefined;
    try {
      await helper.exec('true', [], { timeoutMs: 10_000 });
      return helper;
    } catch (err) {
      helper.close();
      logger.error({ helper: path, err: (err as Error).message }, 'corelet-io serve does not work: the runtime spawns mount(8), umount(8), unshare(1), runc and the CNI plugins itself');
      return undefined;
    }
  }

  async mount(source: string, target: string, fstype: string, flags: number, data: string): Promise<void> {
    await this.request(['mount', source, target, fstype, String(flags), data]);
  }

  async umount(target: string, flags: number): Promise<void> {
    await this.request(['umount', target, String(flags)]);
  }

  /** New network (and IPC, UTS when a file is given) namespaces bound on their existing files, loopback up. */
  async netns(netFile: string, ipcFile: string | undefined, utsFile: string | undefined): Promise<void> {
    await this.request(['netns', netFile, ipcFile ?? '', utsFile ?? '']);
  }

  /**
   * Runs a program to its end from the helper, as lib's runProgram does from this process (PATH
   * lookup, default signals, stdin /dev/null without input) without forking this process. Rejects
   * with a HostOpError when it cannot start (ENOENT, EACCES...).
   */
  async exec(file: string, args: readonly string[], opts: HelperExecOptions = {}): Promise<HelperExecResult> {
    const env = opts.env ? Object.entries(opts.env).filter((e): e is [string, string] => e[1] !== undefined).map(([k, v]) => `${k}=${v}`) : undefined;
    const fields = ['exec', file, String(opts.timeoutMs ?? 0), opts.input === undefined ? '0' : '1', opts.input ?? '', String(env ? env.length : -1), ...(env ?? []), file, ...args];
    return (await this.request(fields, opts.timeoutMs ? opts.timeoutMs + this.graceMs : undefined))!;
  }

  /** Ends the helper (its stdin closes: it answers what runs, then exits); requests after this fail. */
  close(): void {
    this.closed = true;
    this.child?.stdin?.end();
    this.child = undefined;
  }

  /**
   * Sends one request; its answer must come within deadlineMs (default: opTimeoutMs for an operation,
   * none for an exec without a timeout), else it fails DeadlineExceeded and the helper, stuck
   * (stopped, in D state, blocked writing), is killed: the other requests fail with it, the next one
   * starts a new helper.
   */
  private request(fields: string[], deadlineMs: number | undefined = fields[0] === 'exec' ? undefined : this.opTimeoutMs): Promise<HelperExecResult | undefined> {
    if (this.closed) return Promise.reject(internal('the host helper is closed'));
    if (fields.some((f) => f.includes('\0'))) return Promise.reject(internal(`${fields[0]}: an argument holds a NUL byte`));
    const bytes = fields.map((f) => Buffer.from(f, 'utf8'));
    // over the helper's limits: this request alone is refused (the helper would refuse it too)
    if (bytes.length + 1 > HELPER_MAX_FIELDS) return Promise.reject(invalidArgument(`${fields[0]} ${fields[1] ?? ''}: ${bytes.length} arguments and environment entries, over the host helper's limit of ${HELPER_MAX_FIELDS - 1}`));
    const big = bytes.findIndex((b) => b.length > HELPER_MAX_FIELD_BYTES);
    if (big >= 0) return Promise.reject(invalidArgument(`${fields[0]} ${fields[1] ?? ''}: an argument of ${bytes[big]!.length} bytes (${fields[big]!.slice(0, 40)}...), over the host helper's limit of ${HELPER_MAX_FIELD_BYTES}`));
    const child = this.child ?? this.start();
    const id = String(this.nextId++);
    const parts: Buffer[] = [Buffer.from(`${bytes.length + 1}\n`), Buffer.from(`${id.length}:${id},`)];
    for (const b of bytes) parts.push(Buffer.from(`${b.length}:`), b, Buffer.from(','));
    return new Promise<HelperExecResult | undefined>((resolve, reject) => {
      const timer =
        deadlineMs === undefined
          ? undefined
          : setTimeout(() => {
              if (!this.pending.has(id)) return;
              // a ping (a request the loop answers at once) tells a stuck helper from one operation
              // blocked in the kernel in its own child: only the stuck helper is killed
              const alive = fields[0] === 'ping' || this.child !== child ? Promise.resolve(false) : this.request(['ping'], this.graceMs).then(() => true, (e: unknown) => e instanceof HostOpError);
              void alive.then((ok) => {
                if (!this.pending.delete(id)) return; // answered meanwhile, or failed with its helper
                clearTimeout(timer);
                this.logger.error({ helper: this.path, pid: child.pid, request: fields.slice(0, 2), deadlineMs, helperAnswers: ok }, ok ? 'host helper request did not end in time' : 'host helper did not answer in time: killing it');
                reject(new CoreletError('DeadlineExceeded', `${fields[0]} ${fields[1] ?? ''}: no answer from the host helper in ${deadlineMs} ms (${ok ? 'still running there' : 'the helper was killed; it is started again'})`));
                if (ok) return;
                // from now on requests go to a new helper; what this one held fails when it is gone ('close')
                if (this.child === child) {
                  this.child = undefined;
                  this.resetBuffer();
                }
                child.kill('SIGKILL');
              });
            }, deadlineMs);
      timer?.unref();
      this.pending.set(id, { resolve, reject, timer, child });
      this.holdLoop(child, true);
      child.stdin!.write(Buffer.concat(parts));
    });
  }

  private start(): ChildProcess {
    const child = spawn(this.path, ['serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      if (this.child === child) this.onData(chunk);
    });
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.stdin!.on('error', () => undefined); // a dead helper shows in 'close' below
    // an idle helper must not keep the process alive; one with requests pending does (holdLoop)
    this.holdLoop(child, false);
    (child.stdin as unknown as Socket).unref?.();
    (child.stderr as unknown as Socket).unref?.();
    child.on('error', (err) => this.logger.error({ helper: this.path, err: String(err) }, 'host helper failed to start'));
    child.on('close', (code, signal) => {
      if (this.child === child) {
        this.child = undefined;
        this.resetBuffer();
      }
      const left = [...this.pending].filter(([, p]) => p.child === child);
      for (const [id] of left) this.pending.delete(id);
      if (left.length || (!this.closed && code !== 0)) this.logger.warn({ helper: this.path, code, signal, stderr: stderr.trim() }, 'host helper ended');
      for (const [, p] of left) clearTimeout(p.timer);
      for (const [, p] of left) p.reject(internal(`the host helper ended (${signal ?? `exit ${code}`})${stderr.trim() ? `: ${stderr.trim()}` : ''}`));
    });
    return child;
  }

  /** While answers are due, the helper (its stdout) keeps the event loop alive. */
  private holdLoop(child: ChildProcess, hold: boolean): void {
    const out = child.stdout as unknown as Socket;
    if (hold) {
      child.ref();
      out.ref?.();
    } else {
      child.unref();
      out.unref?.();
    }
  }

  /** Answers: "ID ok", "ID err ERRNO MESSAGE", or "ID exec CODE SIGNAL TIMEDOUT OUTLEN ERRLEN" + the outputs. */
  private resetBuffer(): void {
    this.buffered = Buffer.alloc(0);
    this.chunks = [];
    this.chunkBytes = 0;
    this.need = 0;
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.chunkBytes += chunk.length;
    if (this.buffered.length + this.chunkBytes < this.need) return; // an answer's outputs are still coming
    this.buffered = this.buffered.length || this.chunks.length > 1 ? Buffer.concat([this.buffered, ...this.chunks]) : chunk;
    this.chunks = [];
    this.chunkBytes = 0;
    this.need = 0;
    for (;;) {
      const nl = this.buffered.indexOf(10);
      if (nl < 0) return;
      const line = this.buffered.subarray(0, nl).toString('utf8');
      const ex = /^(\d+) exec (-?\d+) (\d+) ([01]) (\d+) (\d+)$/.exec(line);
      let consumed = nl + 1;
      let result: HelperExecResult | undefined;
      if (ex) {
        const outLen = Number(ex[5]);
        const errLen = Number(ex[6]);
        if (this.buffered.length < consumed + outLen + errLen) {
          this.need = consumed + outLen + errLen; // the outputs are still coming
          return;
        }
        const code = Number(ex[2]);
        result = {
          exitCode: code >= 0 ? code : undefined,
          signal: Number(ex[3]) ? (SIGNAL_NAMES.get(Number(ex[3])) ?? 'SIGKILL') : undefined,
          stdout: Buffer.from(this.buffered.subarray(consumed, consumed + outLen)),
          stderr: Buffer.from(this.buffered.subarray(consumed + outLen, consumed + outLen + errLen)),
          timedOut: ex[4] === '1',
        };
        consumed += outLen + errLen;
      }
      this.buffered = this.buffered.subarray(consumed);
      const id = /^(\d+) /.exec(line)?.[1] ?? '';
      const p = this.pending.get(id);
      this.pending.delete(id);
      clearTimeout(p?.timer);
      if (this.pending.size === 0 && this.child) this.holdLoop(this.child, false);
      if (!p) {
        this.logger.warn({ line }, 'host helper answered a request nobody made');
        continue;
      }
      if (result) {
        p.resolve(result);
        continue;
      }
      if (line === `${id} ok`) {
        p.resolve(undefined);
        continue;
      }
      const m = /^\d+ err (\d+) (.*)$/s.exec(line); // s: a message may hold \r, U+2028...
      p.reject(m ? new HostOpError(Number(m[1]), m[2]!) : new HostOpError(0, `unreadable answer: ${line}`));
    }
  }
}

/** hostMounts (mount(8)/umount(8)) with each operation made by the helper: same checks, same messages. */
export function helperMounts(helper: HostHelper, fallback: MountPort = hostMounts): MountPort {
  const message = (err: unknown) => (err as Error).message;
  return {
    async overlay(lowerdir, upperdir, workdir, target) {
      await Promise.all([mkdir(upperdir, { recursive: true }), mkdir(workdir, { recursive: true }), mkdir(target, { recursive: true })]);
      await helper.mount('overlay', target, 'overlay', 0, `lowerdir=${lowerdir},upperdir=${upperdir},workdir=${workdir}`).catch((err: unknown) => {
        throw internal(`mounting overlay rootfs at ${target}: ${message(err)}`);
      });
    },
    async tmpfs(target, options) {
      const parsed = mountOptions(options);
      if (!parsed) return fallback.tmpfs(target, options);
      await mkdir(target, { recursive: true });
      await helper.mount('shm', target, 'tmpfs', parsed.flags, parsed.data).catch((err: unknown) => {
        throw internal(`mounting tmpfs at ${target}: ${message(err)}`);
      });
    },
    async unmount(target) {
      if (!(await isMounted(target))) return;
      try {
        await helper.umount(target, 0);
      } catch (err) {
        await helper.umount(target, MNT_DETACH).catch(() => {
          throw internal(`unmounting ${target}: ${message(err)}`);
        });
      }
    },
  };
}
