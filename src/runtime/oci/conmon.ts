import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { CoreletError, errnoCode, invalidArgument, type Logger } from '../../lib/index.js';
import { OciRuntime } from './oci-runtime.js';
import { readPidFile } from './process-alive.js';
import { runtimeErrorMessage } from './runtime-errors.js';

/** Options of {@link Conmon}. */
export interface ConmonOptions {
  /** Path of the conmon binary (2.1.x). */
  conmonPath: string;
  /** Path of the OCI runtime conmon drives (runc or crun). */
  runtimePath: string;
  /** The runtime's --root state folder; must match the OciRuntime used for start/kill/delete. */
  runtimeRoot: string;
  logger: Logger;
  /** conmon's own --log-level (error, warn, info, debug, trace; default info). */
  logLevel?: string;
  /** How long conmon + `runtime create` may take before the create fails (default 120 s). */
  createTimeoutMs?: number;
  /** The systemd cgroup driver: conmon -s, which runs `runtime --systemd-cgroup create` (as CRI-O does). */
  systemdCgroup?: boolean;
}

/** Options of {@link Conmon.create}. */
export interface ConmonCreateOptions {
  /** Container id: runtime id, conmon -c/-u, and the name of the exit file. */
  id: string;
  /** Container name, for conmon's own logs. */
  name: string;
  /** OCI bundle folder (config.json, rootfs); conmon also puts its ctl/winsz fifos and attach socket here. */
  bundle: string;
  /** The CRI log file conmon writes (k8s-file format). */
  logPath: string;
  /** conmon writes the exit code into exitDir/<id>. */
  exitDir: string;
  /** Holds the <id> symlink to the bundle through which the attach socket and ctl fifo are reached. */
  socketDir: string;
  /** conmon writes "exit" and "oom" here; corelet keeps conmon's early stderr in conmon.log here. */
  persistDir: string;
  /** Where the runtime writes the container's init pid. */
  pidFile: string;
  /** Where conmon writes its own (daemon) pid. */
  conmonPidFile: string;
  terminal?: boolean;
  /** Keep a stdin pipe for attach. */
  stdin?: boolean;
  /** Close the container's stdin when the first attach session ends. */
  stdinOnce?: boolean;
  /** Rotate-less cap of the log file in bytes (conmon truncates past it). */
  logSizeMax?: number;
  /** Tag conmon adds to its log lines. */
  logTag?: string;
}

/** What a successful create returns: the container is in the runtime's "created" state. */
export interface ConmonCreateResult {
  /** Host pid of the container's init process. */
  pid: number;
  /** Pid of the conmon daemon monitoring it. */
  conmonPid: number;
}

/** conmon's sync-pipe message: {"data": pid} on success, {"data": <0, "message": "…"} on failure. */
export interface SyncMessage {
  data: number;
  message?: string;
}

/**
 * The first complete sync message in text, or undefined while none is complete. Throws on a
 * complete line that is not conmon's JSON.
 */
export function parseSyncMessage(text: string): SyncMessage | undefined {
  const nl = text.indexOf('\n');
  if (nl === -1) return undefined;
  const line = text.slice(0, nl).trim();
  let obj: { data?: unknown; message?: unknown };
  try {
    obj = JSON.parse(line) as typeof obj;
  } catch (err) {
    throw new CoreletError('Internal', `conmon sent an unreadable sync message: ${line.slice(0, 200)}`, { cause: err });
  }
  if (typeof obj.data !== 'number') throw new CoreletError('Internal', `conmon sync message without data: ${line.slice(0, 200)}`);
  return typeof obj.message === 'string' ? { data: obj.data, message: obj.message } : { data: obj.data };
}

/** conmon's command line for a create (pure, so it can be checked without conmon). */
export function conmonArgs(
  conmon: Pick<ConmonOptions, 'runtimePath' | 'runtimeRoot' | 'logLevel' | 'systemdCgroup'>,
  o: ConmonCreateOptions,
): string[] {
  const args = [
    '--api-version', '1',
    '-c', o.id,
    '-u', o.id,
    '-n', o.name,
    '-r', conmon.runtimePath,
    '-b', o.bundle,
    '-p', o.pidFile,
    '-P', o.conmonPidFile,
    '-l', `k8s-file:${o.logPath}`,
    '--exit-dir', o.exitDir,
    '--socket-dir-path', o.socketDir,
    '--persist-dir', o.persistDir,
    '--runtime-arg', `--root=${conmon.runtimeRoot}`,
    '--log-level', conmon.logLevel ?? 'info',
  ];
  if (conmon.systemdCgroup) args.push('-s');
  if (o.terminal) args.push('-t');
  if (o.stdin) {
    args.push('-i');
    // Without stdinOnce, stdin stays open for the next attach after a client leaves.
    if (!o.stdinOnce) args.push('--leave-stdin-open');
  }
  if (o.logSizeMax !== undefined && o.logSizeMax > 0) args.push('--log-size-max', String(o.logSizeMax));
  if (o.logTag) args.push('--log-tag', o.logTag);
  return args;
}

/**
 * Starts containers under conmon, the per-container monitor: conmon runs `runtime create`, then
 * holds the container's stdio, writes the CRI log file and, when the container exits, its exit
 * code. conmon double-forks and calls setsid (we also start it detached, stdio to /dev/null or a
 * file), so it is not our child for long and outlives this daemon being killed; PID 1 reaps it.
 */
export class Conmon {
  private readonly opts: ConmonOptions;
  private readonly runtime: OciRuntime;
  private readonly createTimeoutMs: number;

  constructor(opts: ConmonOptions) {
    this.opts = opts;
    this.createTimeoutMs = opts.createTimeoutMs ?? 120_000;
    this.runtime = new OciRuntime({ binary: opts.runtimePath, root: opts.runtimeRoot, logger: opts.logger, systemdCgroup: opts.systemdCgroup });
  }

  /**
   * Creates the container (runtime state "created"; start it with OciRuntime.start). Resolves once
   * `runtime create` has finished, which conmon reports through the sync pipe. On failure the
   * runtime's message is the error's, and whatever was created is deleted first.
   */
  async create(o: ConmonCreateOptions): Promise<ConmonCreateResult> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(o.id)) throw invalidArgument(`container id ${JSON.stringify(o.id)} is not valid`);
    const started = Date.now();
    await this.prepare(o);
    const stderrPath = join(o.persistDir, 'conmon.log');
    let msg: SyncMessage;
    try {
      msg = await this.spawnAndSync(o, stderrPath);
    } catch (err) {
      await this.cleanup(o);
      if (err instanceof CoreletError) throw err;
      throw new CoreletError('Internal', `creating container ${o.id} with conmon`, { cause: err });
    }
    if (msg.data <= 0) {
      await this.cleanup(o);
      const detail = runtimeErrorMessage(msg.message ?? '') || (await readTail(stderrPath)) || `conmon reported ${msg.data}`;
      throw new CoreletError('Internal', `creating container ${o.id}: ${detail}`);
    }
    const conmonPid = await readPidFile(o.conmonPidFile);
    if (conmonPid === undefined) {
      await this.cleanup(o);
      throw new CoreletError('Internal', `creating container ${o.id}: conmon wrote no pid file ${o.conmonPidFile}`);
    }
    this.opts.logger.debug({ id: o.id, pid: msg.data, conmonPid, ms: Date.now() - started }, 'conmon create');
    return { pid: msg.data, conmonPid };
  }

  /** Makes the folders conmon writes into and drops leftovers of an earlier attempt with this id. */
  private async prepare(o: ConmonCreateOptions): Promise<void> {
    const dirs = [o.exitDir, o.socketDir, o.persistDir, dirname(o.logPath), dirname(o.pidFile), dirname(o.conmonPidFile)];
    for (const d of new Set(dirs)) await mkdir(d, { recursive: true });
    // A stale exit or oom file would make a new container look exited or OOM-killed.
    for (const f of [join(o.exitDir, o.id), join(o.persistDir, 'exit'), join(o.persistDir, 'oom'), o.pidFile, o.conmonPidFile]) {
      await rm(f, { force: true });
    }
  }

  /** Spawns conmon with the sync pipe as fd 3 and waits for its first message. */
  private spawnAndSync(o: ConmonCreateOptions, stderrPath: string): Promise<SyncMessage> {
    const args = conmonArgs(this.opts, o);
    // conmon's early stderr (bad flags, setup failures) goes to a file: a pipe to us would break
    // (SIGPIPE) once this daemon is gone, and conmon points its stdio at /dev/null once it runs.
    const errFd = openSync(stderrPath, 'w', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(this.opts.conmonPath, args, {
        cwd: o.bundle, // conmon also drops an "oom" file in its working folder
        detached: true,
        stdio: ['ignore', errFd, errFd, 'pipe'],
        env: { PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', _OCI_SYNCPIPE: '3' },
      });
    } finally {
      closeSync(errFd);
    }
    // The first conmon exits right after forking; never let it hold our event loop.
    child.unref();
    const sync = child.stdio[3] as Readable;
    return new Promise<SyncMessage>((resolve, reject) => {
      let text = '';
      let settled = false;
      let exitCode: number | null | undefined;
      const settle = (err: unknown, msg?: SyncMessage) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // Closing our end is safe: conmon (create mode) writes nothing more, and handles EPIPE.
        sync.destroy();
        if (err) reject(err);
        else resolve(msg!);
      };
      const timer = setTimeout(() => {
        void this.killConmon(o, child).finally(() =>
          settle(new CoreletError('DeadlineExceeded', `creating container ${o.id}: conmon did not report within ${this.createTimeoutMs} ms`)),
        );
      }, this.createTimeoutMs);
      child.on('error', (err) => settle(new CoreletError('Unavailable', `cannot run conmon ${this.opts.conmonPath}: ${err.message}`, { cause: err })));
      child.on('exit', (code) => {
        exitCode = code;
      });
      sync.on('data', (d: Buffer) => {
        text += d.toString('utf8');
        try {
          const msg = parseSyncMessage(text);
          if (msg) settle(undefined, msg);
        } catch (err) {
          settle(err);
        }
      });
      sync.on('error', () => undefined);
      sync.on('close', () => {
        if (settled) return;
        // Every conmon process closed the pipe without a word: it failed before running create.
        void readTail(stderrPath).then((stderr) =>
          settle(new CoreletError('Internal', `creating container ${o.id}: conmon exited${exitCode != null ? ` (code ${exitCode})` : ''} without reporting${stderr ? `: ${stderr}` : ''}`)),
        );
      });
    });
  }

  private async killConmon(o: ConmonCreateOptions, child: ChildProcess): Promise<void> {
    const pid = await readPidFile(o.conmonPidFile);
    for (const p of [pid, child.pid]) {
      if (p === undefined) continue;
      try {
        process.kill(p, 'SIGKILL');
      } catch (err) {
        if (errnoCode(err) !== 'ESRCH') this.opts.logger.warn({ id: o.id, pid: p, err }, 'killing conmon');
      }
    }
  }

  /** Deletes whatever `runtime create` left (state, cgroups, the init process). */
  private async cleanup(o: ConmonCreateOptions): Promise<void> {
    try {
      await this.runtime.delete(o.id, { force: true });
    } catch (err) {
      this.opts.logger.warn({ id: o.id, err }, 'cleaning up after failed create');
    }
  }
}

/** The last few lines of a small diagnostic file, for error messages. */
async function readTail(file: string): Promise<string> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    // conmon's harmless warning about its own oom_score_adj (root lacks CAP_SYS_RESOURCE) is noise.
    const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.includes('oom_score_adj'));
    return lines.slice(-5).join('; ');
  } catch {
    return '';
  }
}
