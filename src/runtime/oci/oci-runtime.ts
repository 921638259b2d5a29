import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CoreletError, errnoCode, ignoreNotFound, invalidArgument, isKind, type Logger, setLongTimeout } from '../../lib/index.js';
import { FifoPool, openExecStdio } from './exec-stdio.js';
import { readPidFile } from './process-alive.js';
import { runCommand, type CommandResult } from './run-command.js';
import { runtimeError } from './runtime-errors.js';
import { HostOpError, type HostHelper } from '../host-helper.js';

/** Container states as the OCI runtime reports them (`runc state`). */
export type OciStatus = 'creating' | 'created' | 'running' | 'stopped' | 'paused';

/** What {@link OciRuntime.state} returns for a container the runtime knows. */
export interface OciState {
  status: OciStatus;
  /** Host pid of the container's init process; 0 once stopped. */
  pid: number;
  /** The bundle folder the container was created from. */
  bundle: string;
}

/** The user an exec'd process runs as (the OCI `process.user` object). */
export interface OciUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
  umask?: number;
}

/**
 * The OCI `process` object of a config.json. Only the fields this adapter touches are typed; the
 * rest (capabilities, rlimits, apparmorProfile, selinuxLabel, noNewPrivileges, …) pass through.
 */
export interface OciProcess {
  terminal?: boolean;
  args?: string[];
  env?: string[];
  cwd?: string;
  user?: OciUser;
  [key: string]: unknown;
}

/** Options of {@link OciRuntime.exec}. */
export interface ExecOptions {
  /** The command and its arguments. */
  args: string[];
  /**
   * The container's own process object, copied so capabilities, rlimits, AppArmor/SELinux labels,
   * user and env match the container. Without it, process is read from the bundle's config.json.
   */
  process?: OciProcess;
  /** Extra `NAME=value` entries; each replaces the container's entry of the same name. */
  env?: string[];
  cwd?: string;
  user?: OciUser;
  /** Kill the process (SIGKILL) after this long and return timedOut. */
  timeoutMs?: number;
  /** Bytes fed to the process's stdin; without it stdin is /dev/null. */
  stdin?: Buffer;
  /** Cap of each of stdout and stderr kept (default 16 MiB); the rest is dropped. */
  maxOutputBytes?: number;
}

/**
 * Where one exec's time went, in ms: writing its files, spawning the runtime (fork + exec, on the
 * event loop), the runtime running until it exits (its start-up, joining the container, the
 * process, its exit), the output's end after that, and removing the files.
 */
interface ExecPhases {
  filesMs: number;
  spawnMs: number;
  runMs: number;
  drainMs: number;
}

/** What an exec'd process did. timedOut means the caller's deadline passed and it was killed. */
export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
}

/** Options of {@link OciRuntime}. */
export interface OciRuntimeOptions {
  /** Path of runc or crun. */
  binary: string;
  /** The runtime's --root state folder, e.g. /run/corelet/runc. */
  root: string;
  logger: Logger;
  /** Deadline of each runtime command other than exec (default 120 s): a hung runtime fails. */
  commandTimeoutMs?: number;
  /** Where exec's temporary process.json and pid file go (default the OS temp folder). */
  tmpDir?: string;
  /** The systemd cgroup driver: every command gets --systemd-cgroup (runc and crun). */
  systemdCgroup?: boolean;
  /**
   * A root-only folder for the FIFOs exec'd processes get as stdio (see exec-stdio.ts); without
   * it they get Node's socketpairs, on which /dev/stdout and /dev/stderr cannot be opened.
   */
  fifoDir?: string;
  /** Runs the runtime's commands other than exec (default: a spawn of this process each; host-helper.ts). */
  helper?: HostHelper;
}

const DEFAULT_MAX_OUTPUT = 16 * 1024 * 1024;
/** After runc exec exits, how long its pipes may stay open (held by a stray background child). */
const IO_DRAIN_MS = 1000;

/**
 * Adapter for an OCI runtime with runc's command line (runc, crun): state, start, kill, delete,
 * update and exec of containers under one --root. Create goes through conmon (see Conmon).
 * Failures carry the runtime's own message and a kind (NotFound when the id is unknown).
 */
export class OciRuntime {
  readonly binary: string;
  readonly root: string;
  private readonly logger: Logger;
  private readonly commandTimeoutMs: number;
  private readonly tmpDir: string;
  /** --root ROOT, and --systemd-cgroup under the systemd driver: before every command. */
  private readonly globalArgs: string[];
  private readonly fifos: FifoPool | undefined;

  constructor(opts: OciRuntimeOptions) {
    this.binary = opts.binary;
    this.root = opts.root;
    this.logger = opts.logger;
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 120_000;
    this.tmpDir = opts.tmpDir ?? tmpdir();
    this.globalArgs = ['--root', this.root, ...(opts.systemdCgroup ? ['--systemd-cgroup'] : [])];
    this.fifos = opts.fifoDir !== undefined ? new FifoPool(opts.fifoDir) : undefined;
    this.helper = opts.helper;
  }

  private readonly helper: HostHelper | undefined;

  /** The container's state, or undefined when the runtime does not know the id. */
  async state(id: string): Promise<OciState | undefined> {
    let out: CommandResult;
    try {
      out = await this.run('state', id, [id]);
    } catch (err) {
      if (isKind(err, 'NotFound')) return undefined;
      throw err;
    }
    let parsed: { status?: unknown; pid?: unknown; bundle?: unknown };
    try {
      parsed = JSON.parse(out.stdout.toString('utf8')) as typeof parsed;
    } catch (err) {
      throw new CoreletError('Internal', `state ${id}: runtime printed invalid JSON`, { cause: err });
    }
    return {
      status: String(parsed.status) as OciStatus,
      pid: typeof parsed.pid === 'number' ? parsed.pid : 0,
      bundle: typeof parsed.bundle === 'string' ? parsed.bundle : '',
    };
  }

  /** Starts a created container (runs the user process). */
  async start(id: string): Promise<void> {
    await this.run('start', id, [id]);
  }

  /**
   * Sends signal (a number or a name such as "TERM"/"SIGKILL") to the container's init process,
   * or with all to every process in it.
   */
  async kill(id: string, signal: number | string, all = false): Promise<void> {
    const sig = String(signal);
    if (!/^(?:\d{1,2}|(?:SIG)?[A-Z][A-Z0-9+-]*)$/.test(sig)) throw invalidArgument(`kill ${id}: bad signal ${sig}`);
    await this.run('kill', id, [...(all ? ['--all'] : []), id, sig]);
  }

  /** Deletes the container's runtime state; force kills it first. Deleting an unknown id succeeds. */
  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.run('delete', id, [...(opts.force ? ['--force'] : []), id]).catch(ignoreNotFound);
  }

  /**
   * Changes a running container's resources: the OCI linux.resources object, passed as a file
   * removed afterwards (as exec's process.json). Not on stdin: node gives a child a socketpair, and
   * crun reopens `-` as /dev/stdin, which a socket cannot be opened as (ENXIO).
   */
  async update(id: string, resources: object): Promise<void> {
    const dir = await mkdtemp(join(this.tmpDir, 'corelet-update-'));
    try {
      const file = join(dir, 'resources.json');
      await writeFile(file, JSON.stringify(resources), { mode: 0o600 });
      await this.run('update', id, ['--resources', file, id]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Runs a process in the running container and collects its output, like `runc exec --process`.
   * A runtime failure before the process started (unknown id, container stopped, missing binary)
   * throws; the process's own exit code, whatever it is, is a result.
   */
  async exec(id: string, opts: ExecOptions): Promise<ExecResult> {
    if (opts.args.length === 0) throw invalidArgument(`exec in ${id}: empty command`);
    const base = opts.process ?? (await this.bundleProcess(id));
    const proc = execProcess(base, opts);
    const t0 = performance.now();
    const dir = await mkdtemp(join(this.tmpDir, 'corelet-exec-'));
    let phases: ExecPhases | undefined;
    let exitCode: number | undefined;
    try {
      const processFile = join(dir, 'process.json');
      const pidFile = join(dir, 'pid');
      await writeFile(processFile, JSON.stringify(proc));
      const t1 = performance.now();
      const res = await this.execProcessFile(id, processFile, pidFile, opts);
      exitCode = res.exitCode;
      phases = { filesMs: t1 - t0, ...res.phases };
      if (!res.started) throw runtimeError('exec', id, res.stderr.toString('utf8'), res.exitCode);
      return { exitCode: res.exitCode, stdout: res.stdout, stderr: res.stderr, timedOut: res.timedOut };
    } finally {
      // The files go once the answer is on its way: their removal is not the caller's wait.
      void rm(dir, { recursive: true, force: true }).catch((err: unknown) => this.logger.warn({ dir, err: String(err) }, 'removing exec files'));
      if (phases) {
        // One line per exec at debug: where its time went (bench/exec.ts --trace).
        const trace = Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v * 10) / 10]));
        this.logger.debug({ id, args: opts.args, ms: Math.round(performance.now() - t0), exitCode, ...trace }, 'oci exec');
      }
    }
  }

  /** The process object of the container's config.json, found through its state's bundle. */
  private async bundleProcess(id: string): Promise<OciProcess> {
    const st = await this.state(id);
    if (!st) throw new CoreletError('NotFound', `exec ${id}: container does not exist`);
    const config = JSON.parse(await readFile(join(st.bundle, 'config.json'), 'utf8')) as { process?: OciProcess };
    return config.process ?? {};
  }

  private async execProcessFile(
    id: string,
    processFile: string,
    pidFile: string,
    opts: ExecOptions,
  ): Promise<{ exitCode: number; stdout: Buffer; stderr: Buffer; timedOut: boolean; started: boolean; phases: Omit<ExecPhases, 'filesMs'> }> {
    const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    const args = [...this.globalArgs, 'exec', '--process', processFile, '--pid-file', pidFile, id];
    const pipes = this.fifos ? await openExecStdio(this.fifos, { stdin: opts.stdin !== undefined }) : undefined;
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      let child: ChildProcess;
      try {
        child = spawn(this.binary, args, { stdio: pipes ? pipes.childStdio : [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
      } catch (err) {
        pipes?.destroy();
        throw err;
      } finally {
        pipes?.closeChildEnds();
      }
      const t1 = performance.now();
      let t2 = NaN;
      const out: Readable = pipes ? pipes.stdout : child.stdout!;
      const err: Readable = pipes ? pipes.stderr : child.stderr!;
      const input: Writable | null = pipes ? (pipes.stdin ?? null) : child.stdin;
      const stdout = new OutputBuffer(max);
      const stderr = new OutputBuffer(max);
      out.on('data', (d: Buffer) => stdout.push(d));
      err.on('data', (d: Buffer) => stderr.push(d));
      out.on('error', () => undefined);
      err.on('error', () => undefined);
      let timedOut = false;
      let exitCode: number | null = null;
      let signal: NodeJS.Signals | null = null;
      let finished = false;
      const timers: { clear(): void }[] = [];
      const later = (fn: () => void, ms: number) => {
        const t = setTimeout(fn, ms);
        timers.push({ clear: () => clearTimeout(t) });
      };

      const finish = async () => {
        if (finished) return;
        finished = true;
        timers.forEach((t) => t.clear());
        out.destroy();
        err.destroy();
        pipes?.destroy();
        // runc writes the pid file once the process runs: without it, runc itself failed. A zero
        // exit is the process's own (a failing runc exits non-zero): no file to read then.
        const started = exitCode === 0 || (await readPidFile(pidFile)) !== undefined;
        const code = exitCode ?? (signal ? 128 + signalNumber(signal) : timedOut ? 137 : 255);
        const t3 = performance.now();
        const phases = { spawnMs: t1 - t0, runMs: t2 - t1, drainMs: t3 - t2 };
        resolve({ exitCode: code, stdout: stdout.value(), stderr: stderr.value(), timedOut, started: started || timedOut, phases });
      };

      if (opts.timeoutMs !== undefined) {
        // ExecSync's timeout comes from the request: any length (setTimeout clamps above 2^31-1 ms).
        timers.push(
          setLongTimeout(() => {
            timedOut = true;
            void this.killExecProcess(id, pidFile, () => child.kill('SIGKILL'));
            // runc copies the process's output and waits until every writer is gone, so a
            // background child of the killed process would keep it running: stop waiting.
            later(() => {
              child.kill('SIGKILL');
              void finish();
            }, IO_DRAIN_MS);
          }, opts.timeoutMs),
        );
      }
      child.on('error', (e) => {
        timers.forEach((t) => t.clear());
        finished = true;
        pipes?.destroy();
        reject(new CoreletError('Unavailable', `cannot run ${this.binary}: ${e.message}`, { cause: e }));
      });
      child.on('exit', (code, sig) => {
        t2 = performance.now();
        exitCode = code;
        signal = sig;
        // A runtime that hands the process our pipes directly (no copying) leaves them open while
        // a background child of the process lives: give them a moment, then stop reading.
        later(() => void finish(), IO_DRAIN_MS);
      });
      // All output read: the child closed its pipes (Node's), or ours reached their end (FIFOs).
      let open = pipes ? 3 : 1;
      const closed = () => {
        if (--open === 0) void finish();
      };
      child.on('close', closed);
      if (pipes) {
        out.once('close', closed);
        err.once('close', closed);
      }
      if (opts.stdin && input) {
        input.on('error', () => undefined);
        input.end(opts.stdin);
      }
    });
  }

  /** Kills an exec'd process whose deadline passed, by the pid runc wrote; else kills runc. */
  private async killExecProcess(id: string, pidFile: string, killRunc: () => void): Promise<void> {
    // The pid file appears a few ms after runc starts the process; wait briefly for it.
    for (let i = 0; i < 10; i++) {
      const pid = await readPidFile(pidFile);
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch (err) {
          if (errnoCode(err) !== 'ESRCH') this.logger.warn({ id, pid, err }, 'killing timed-out exec process');
        }
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    killRunc();
  }

  /** Runs one runtime command; a non-zero exit becomes an error carrying the runtime's message. */
  private async run(command: string, id: string, args: string[], input?: string): Promise<CommandResult> {
    const started = Date.now();
    const argv = [...this.globalArgs, command, ...args];
    const res = this.helper ? await this.runByHelper(this.helper, argv, input) : await runCommand(this.binary, argv, { input, timeoutMs: this.commandTimeoutMs });
    this.logger.debug({ command, args, ms: Date.now() - started, exitCode: res.exitCode }, 'oci runtime');
    if (res.exitCode !== 0) throw runtimeError(command, id, res.stderr.toString('utf8'), res.exitCode);
    return res;
  }

  /** runCommand's contract (Unavailable when it cannot start, DeadlineExceeded past the deadline), the program run by the host helper. */
  private async runByHelper(helper: HostHelper, argv: string[], input: string | undefined): Promise<CommandResult> {
    let r;
    try {
      r = await helper.exec(this.binary, argv, { input, timeoutMs: this.commandTimeoutMs });
    } catch (err) {
      if (err instanceof HostOpError) throw new CoreletError('Unavailable', `cannot run ${this.binary}: ${err.message}`, { cause: err });
      throw err;
    }
    if (r.timedOut) throw new CoreletError('DeadlineExceeded', `${this.binary} ${argv.join(' ')} did not finish in ${this.commandTimeoutMs} ms`);
    return { exitCode: r.exitCode ?? null, signal: r.signal ?? null, stdout: r.stdout, stderr: r.stderr };
  }
}

/**
 * The process.json of an exec: the container's process with the new args, env entries overriding
 * by name, cwd and user when given, and never a terminal (output is collected through pipes).
 */
export function execProcess(base: OciProcess, opts: Pick<ExecOptions, 'args' | 'env' | 'cwd' | 'user'>): OciProcess {
  const proc: OciProcess = structuredClone(base);
  proc.args = [...opts.args];
  proc.terminal = false;
  delete proc.consoleSize;
  if (opts.env && opts.env.length > 0) proc.env = mergeEnv(base.env ?? [], opts.env);
  if (opts.cwd) proc.cwd = opts.cwd;
  if (opts.user) proc.user = { ...opts.user };
  if (!proc.cwd) proc.cwd = '/';
  return proc;
}

/** base with each `NAME=value` of extra replacing base's entry of that NAME, else appended. */
export function mergeEnv(base: string[], extra: string[]): string[] {
  const name = (e: string) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e);
  const out = [...base];
  for (const e of extra) {
    const i = out.findIndex((b) => name(b) === name(e));
    if (i === -1) out.push(e);
    else out[i] = e;
  }
  return out;
}

function signalNumber(sig: NodeJS.Signals): number {
  return constants.signals[sig] ?? 9;
}

/** Collects chunks up to a byte cap, dropping the rest. */
class OutputBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(d: Buffer): void {
    if (this.size >= this.max) return;
    const part = d.length + this.size > this.max ? d.subarray(0, this.max - this.size) : d;
    this.chunks.push(part);
    this.size += part.length;
  }
  value(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
