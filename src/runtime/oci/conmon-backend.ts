import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, watch } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { performance } from 'node:perf_hooks';
import { basename, dirname, join } from 'node:path';
import { Duplex, type Readable, type Writable } from 'node:stream';
import { CoreletError, errnoCode, failedPrecondition, invalidArgument, newId, type Logger } from '../../lib/index.js';
import type { AttachRequest, ExecRequest, PortForwardRequest, StreamingBackend, StreamIO, TerminalSize } from '../../streaming/index.js';
import type { ContainerRecord, SandboxRecord } from '../store/index.js';
import { conmonAttachPath, conmonCtlPath, resizeTerminal } from './conmon-ctl.js';
import { parseSyncMessage, type SyncMessage } from './conmon.js';
import { openExecStdio, FifoPool } from './exec-stdio.js';
import { readExitFile } from './exit-file.js';
import { readPidFile } from './process-alive.js';
import { execProcess, type OciProcess } from './oci-runtime.js';
import { runtimeError } from './runtime-errors.js';

/** What the backend reads of the runtime's state (StateStore fits). */
export interface StreamingStore {
  /** The container with this id or unique prefix; throws NotFound otherwise. */
  container(idOrPrefix: string): ContainerRecord;
  /** The sandbox with this id or unique prefix; throws NotFound otherwise. */
  sandbox(idOrPrefix: string): SandboxRecord;
  /** Folder of a container: its OCI bundle (config.json) and conmon's attach socket and ctl fifo. */
  dir(kind: 'containers', id: string): string;
}

/** Options of {@link ConmonStreamingBackend}. */
export interface ConmonStreamingBackendOptions {
  store: StreamingStore;
  /** Where the containers' conmons write exit files (a container with one has exited). */
  exitDir: string;
  /** The containers' conmon --socket-dir-path (attach socket and ctl fifo under <id>/). */
  socketDir: string;
  /** Where exec sessions keep their temporary files (one folder each, removed afterwards). */
  execDir: string;
  /** conmon 2.1.x. */
  conmonPath: string;
  /** The OCI runtime (runc, crun) and its --root, as the containers were created with. */
  runtimePath: string;
  runtimeRoot: string;
  /** The corelet-io helper (native-scripts/build-native.sh builds it into dist/bin). */
  ioHelperPath: string;
  logger: Logger;
  /** How long an exec's conmon may take to get ready and start the process (default 60 s). */
  execSetupTimeoutMs?: number;
}

/** One byte on conmon's start pipe: "go on" (its content does not matter). */
const START = Buffer.from([0]);
/** How long to wait for processes we killed to be gone before giving up on them. */
const KILL_GRACE_MS = 10_000;
/** After runtime exec exits, how long the process's pipes may stay open (held by a background child). */
const IO_DRAIN_MS = 1000;

/**
 * The streaming backend over conmon and runc.
 *
 * exec runs one conmon per session in exec mode (`--exec --exec-attach`), with the session's own
 * bundle, exit and socket folders: conmon reports on its attach pipe once its attach socket
 * exists, corelet-io connects to it, and only then does conmon get the start byte and run
 * `runtime exec`, so no output is lost. conmon reports the process's pid and then its exit code on
 * the sync pipe. attach connects corelet-io to the container's own conmon. portForward runs
 * corelet-io inside the pod's network namespace.
 *
 * The backend writes into io's writables but never ends them: the caller closes them once the
 * returned promise has settled (by then all output has been written).
 */
export class ConmonStreamingBackend implements StreamingBackend {
  private readonly o: ConmonStreamingBackendOptions;
  private readonly log: Logger;
  private readonly fifos: FifoPool;
  private execDirReady = false;

  constructor(opts: ConmonStreamingBackendOptions) {
    this.o = opts;
    this.log = opts.logger;
    // Beside the sessions' folder, which holds only sessions (each removed when it ends).
    this.fifos = new FifoPool(join(dirname(opts.execDir), 'exec-fifos'));
  }

  async exec(req: ExecRequest, io: StreamIO): Promise<{ exitCode: number }> {
    if (req.cmd.length === 0) throw invalidArgument('exec: cmd is required');
    const t0 = performance.now();
    const rec = await this.runningContainer(req.containerId);
    const spec = JSON.parse(await readFile(join(this.o.store.dir('containers', rec.id), 'config.json'), 'utf8')) as { process?: OciProcess };
    const resizer = new TerminalResizer(this.log, rec.id);
    if (req.tty) io.onResize((size) => resizer.resize(size));
    // A size that came before the terminal exists is given to the runtime, which creates the
    // terminal with it: through conmon's ctl fifo it would race the process's start.
    const proc = execProcessSpec(spec.process ?? {}, req.cmd, req.tty, resizer.takePending());

    if (!this.execDirReady) {
      await mkdir(this.o.execDir, { recursive: true });
      this.execDirReady = true;
    }
    const dir = await mkdtemp(join(this.o.execDir, 'exec-'));
    try {
      if (!req.tty) {
        const processFile = join(dir, 'process.json');
        await writeFile(processFile, JSON.stringify(proc));
        this.log.debug({ id: rec.id, filesMs: Math.round((performance.now() - t0) * 10) / 10 }, 'exec session prepared');
        return await this.runDirect(rec.id, processFile, join(dir, 'pid'), req, io);
      }
      const session: ExecSessionPaths = {
        dir,
        processFile: join(dir, 'process.json'),
        bundle: join(dir, 'bundle'),
        exitDir: join(dir, 'exits'),
        socketDir: join(dir, 'sockets'),
        pidFile: join(dir, 'pid'),
        conmonLog: join(dir, 'conmon.log'),
      };
      await Promise.all([mkdir(session.bundle), mkdir(session.exitDir), mkdir(session.socketDir)]);
      await writeFile(session.processFile, JSON.stringify(proc));
      return await this.runExecSession(rec.id, session, req, io, resizer);
    } finally {
      await rm(dir, { recursive: true, force: true }).catch((err: unknown) => this.log.warn({ dir, err: String(err) }, 'removing exec session folder'));
    }
  }

  /**
   * exec without a terminal: `runtime exec` as our own child, the process on pipes we hold (see
   * exec-stdio.ts), no conmon and no corelet-io in between. runc hands the process its stdio as
   * is and exits with its exit code (128+n for signal n); it writes the pid file once the process
   * runs, so a runc that exits without one failed to start it, and what it wrote on stderr until
   * then is its own error, kept from the client. Every process it starts is gone when it returns.
   */
  private async runDirect(id: string, processFile: string, pidFile: string, req: ExecRequest, io: StreamIO): Promise<{ exitCode: number }> {
    const t0 = performance.now();
    const stdio = await openExecStdio(this.fifos, { stdin: io.stdin !== undefined });
    const t1 = performance.now();
    let tPid = NaN;
    let tExit = NaN;
    // runc writes the pid file by rename once the process runs: watch for it rather than poll.
    const watcher = watch(dirname(pidFile), { persistent: false });
    let runtime: ChildProcess;
    try {
      runtime = spawn(this.o.runtimePath, ['--root', this.o.runtimeRoot, 'exec', '--process', processFile, '--pid-file', pidFile, id], {
        stdio: stdio.childStdio,
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      });
    } catch (err) {
      watcher.close();
      stdio.destroy();
      throw err;
    } finally {
      stdio.closeChildEnds();
    }
    const t2 = performance.now();
    let spawnError: Error | undefined;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      runtime.once('exit', (code, signal) => {
        tExit = performance.now();
        resolve({ code, signal });
      });
      runtime.once('error', (err) => {
        spawnError = err;
        resolve({ code: null, signal: null });
      });
    });
    let pid: number | undefined;
    let aborted = false;
    // Until the process runs, stderr is runc's: held back, and released once the pid file is there.
    const held: Buffer[] = [];
    let stderrLive = false;
    const goLive = () => {
      if (stderrLive) return;
      stderrLive = true;
      for (const b of held) io.stderr?.write(b);
      held.length = 0;
    };
    const started = new Promise<void>((resolve) => {
      const check = async () => {
        const p = await readPidFile(pidFile);
        if (p === undefined || pid !== undefined) return;
        pid = p;
        tPid = performance.now();
        goLive();
        if (aborted) signalProcess(pid, 'SIGKILL', this.log);
        resolve();
      };
      watcher.on('change', (_event, name) => {
        if (String(name) === basename(pidFile)) void check();
      });
      watcher.on('error', () => undefined);
      void exited.then(() => check().then(resolve));
    });
    const onAbort = () => {
      // The client is gone: end the process (never the container). Before its pid file is there
      // the process may already run (its output comes first), and killing runc would orphan it:
      // it is killed as soon as its pid is known.
      aborted = true;
      if (pid !== undefined) signalProcess(pid, 'SIGKILL', this.log);
    };
    if (io.signal.aborted) onAbort();
    else io.signal.addEventListener('abort', onAbort, { once: true });

    if (io.stdin && stdio.stdin) io.stdin.pipe(stdio.stdin);
    const drained = Promise.all(
      ([
        [stdio.stdout, io.stdout, true],
        [stdio.stderr, io.stderr, false],
      ] as const).map(
        ([from, to, live]) =>
          new Promise<void>((resolve) => {
            from.on('data', (d: Buffer) => {
              if (!to) return;
              if (live || stderrLive) {
                if (!to.write(d)) {
                  from.pause();
                  to.once('drain', () => from.resume());
                }
              } else held.push(d);
            });
            from.once('close', () => resolve());
            from.on('error', () => undefined);
          }),
      ),
    );
    try {
      const { code, signal } = await exited;
      await started;
      if (spawnError) throw new CoreletError('Unavailable', `exec in ${id}: cannot run ${this.o.runtimePath}: ${spawnError.message}`, { cause: spawnError });
      // A background child of the process may hold its pipes: give them a moment, then stop reading.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, IO_DRAIN_MS)))]);
      clearTimeout(timer);
      if (pid === undefined) {
        if (aborted) throw new CoreletError('Unavailable', `exec in ${id}: the client went away`);
        throw runtimeError('exec', id, Buffer.concat(held).toString('utf8'), code);
      }
      const exitCode = code ?? (signal ? 128 + (osConstants.signals[signal] ?? 9) : 255);
      // Where the session's time went, in ms (bench/exec.ts --corelet-log-level debug).
      const r = (v: number) => Math.round(v * 10) / 10;
      const trace = { pipesMs: r(t1 - t0), spawnMs: r(t2 - t1), untilPidMs: r(tPid - t2), runMs: r(tExit - t2), drainMs: r(performance.now() - tExit) };
      this.log.debug({ id, cmd: req.cmd, exitCode, ...trace }, 'exec finished');
      return { exitCode };
    } finally {
      io.signal.removeEventListener('abort', onAbort);
      watcher.close();
      if (io.stdin && stdio.stdin) io.stdin.unpipe(stdio.stdin);
      stdio.destroy();
      if (runtime.exitCode === null && runtime.signalCode === null && !spawnError) {
        if (pid !== undefined) signalProcess(pid, 'SIGKILL', this.log);
        else runtime.kill('SIGKILL');
        await waitOrKill(exited, runtime, this.log);
      }
    }
  }

  /** The conmon-driven part of exec; every process it starts is gone when it returns. */
  private async runExecSession(
    id: string,
    s: ExecSessionPaths,
    req: ExecRequest,
    io: StreamIO,
    resizer: TerminalResizer,
  ): Promise<{ exitCode: number }> {
    const args = execConmonArgs({
      containerId: id,
      sessionId: newId(),
      runtimePath: this.o.runtimePath,
      runtimeRoot: this.o.runtimeRoot,
      paths: s,
      tty: req.tty,
      stdin: io.stdin !== undefined,
    });
    const logFd = openSync(s.conmonLog, 'w', 0o600);
    let conmon: ChildProcess;
    try {
      conmon = spawn(this.o.conmonPath, args, {
        cwd: s.bundle,
        // conmon reports on fd 3 (sync: pid, then exit code), waits on fd 4 (start) and says on
        // fd 5 (attach) when its attach socket is ready. --sync keeps it our child.
        stdio: ['ignore', logFd, logFd, 'pipe', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4', _OCI_ATTACHPIPE: '5' },
      });
    } finally {
      closeSync(logFd);
    }
    let spawnError: Error | undefined;
    const conmonClosed = new Promise<number | null>((resolve) => {
      conmon.once('close', (code) => resolve(code));
      conmon.once('error', (err) => {
        spawnError = err;
        resolve(null);
      });
    });
    // Node's typings know only fds 0-4; the extra pipes are sockets, readable and writable.
    const pipes = conmon.stdio as unknown as Duplex[];
    const syncMessages = new LineQueue(pipes[3]!);
    const startPipe: Writable = pipes[4]!;
    const attachMessages = new LineQueue(pipes[5]!);
    startPipe.on('error', () => undefined);

    let helper: IoHelper | undefined;
    let started = false;
    let pid: number | undefined;
    let killWhenPidKnown = false;
    let finished = false;
    let timedOut = false;
    const killConmon = () => signalProcess(conmon.pid, 'SIGKILL', this.log);
    const onAbort = () => {
      // The client is gone: stop feeding it, and end the process (never the container).
      helper?.child.kill('SIGKILL');
      if (!started) killConmon();
      else if (pid !== undefined) signalProcess(pid, 'SIGKILL', this.log);
      else killWhenPidKnown = true;
    };
    const setupTimer = setTimeout(() => {
      timedOut = true;
      helper?.child.kill('SIGKILL');
      killConmon();
    }, this.o.execSetupTimeoutMs ?? 60_000);
    if (io.signal.aborted) onAbort();
    else io.signal.addEventListener('abort', onAbort, { once: true });
    const failure = async (what: string) => {
      if (io.signal.aborted) return new CoreletError('Unavailable', `exec in ${id}: the client went away`);
      if (timedOut) return new CoreletError('DeadlineExceeded', `exec in ${id}: conmon did not start the process in time`);
      if (spawnError) return new CoreletError('Unavailable', `exec in ${id}: cannot run ${this.o.conmonPath}: ${spawnError.message}`, { cause: spawnError });
      const log = await readTail(s.conmonLog);
      return new CoreletError('Internal', `exec in ${id}: ${what}${log ? `: ${log}` : ''}`);
    };

    try {
      startPipe.write(START); // conmon's first read: it may now set up
      const ready = await nextSyncMessage(attachMessages);
      if (!ready || ready.data < 0) throw await failure(`conmon failed before its attach socket was ready${ready?.message ? `: ${ready.message}` : ''}`);

      helper = startIoHelper(this.o.ioHelperPath, ['attach', '--status-fd', '3', ...(io.stdin ? [] : ['--no-stdin']), join(s.bundle, 'attach')], {
        stdin: io.stdin !== undefined,
      });
      if (io.signal.aborted) helper.child.kill('SIGKILL');
      try {
        await helper.connected;
      } catch (err) {
        if (io.signal.aborted || timedOut) throw await failure('attach');
        throw new CoreletError('Internal', `exec in ${id}: cannot attach to conmon: ${(err as Error).message}`, { cause: err });
      }
      const unwire = wireStreams(helper.child, io);
      try {
        resizer.attachTo(join(s.bundle, 'ctl'));
        // conmon keeps sizes written to its ctl fifo until the runtime hands it the terminal.
        await resizer.flushed();
        if (io.signal.aborted || timedOut) throw await failure('cancelled');
        started = true;
        startPipe.write(START); // second read: run `runtime exec`
        const first = await nextSyncMessage(syncMessages);
        if (!first) throw await failure('conmon exited without reporting the process');
        if (first.data <= 0) throw runtimeError('exec', id, first.message ?? '', null);
        pid = first.data;
        clearTimeout(setupTimer);
        if (killWhenPidKnown) signalProcess(pid, 'SIGKILL', this.log);

        // The process runs: its exit code is conmon's next message (or its exit file).
        const last = await nextSyncMessage(syncMessages);
        const conmonCode = await conmonClosed;
        await helper.done;
        const exitCode = last && last.data >= 0 ? last.data : ((await this.sessionExitCode(s.exitDir)) ?? conmonCode);
        if (exitCode === null || exitCode === undefined) throw await failure('conmon exited without an exit code');
        this.log.debug({ id, cmd: req.cmd, exitCode }, 'exec finished');
        finished = true;
        return { exitCode };
      } finally {
        unwire();
      }
    } finally {
      resizer.close();
      clearTimeout(setupTimer);
      io.signal.removeEventListener('abort', onAbort);
      // Whatever went wrong, leave no process behind: the exec'd process, then conmon (its
      // runtime child dies with it), then the helper, whose socket closes with conmon.
      if (!finished && conmon.exitCode === null && conmon.signalCode === null) {
        if (pid !== undefined) signalProcess(pid, 'SIGKILL', this.log);
        else killConmon();
      }
      await waitOrKill(conmonClosed, conmon, this.log);
      if (helper) await waitOrKill(helper.done, helper.child, this.log);
    }
  }

  /** The exit code conmon wrote into the session's own exit folder (named after the container). */
  private async sessionExitCode(exitDir: string): Promise<number | undefined> {
    for (const name of await readdir(exitDir).catch(() => [] as string[])) {
      const code = await readExitFile(exitDir, name);
      if (code !== undefined) return code;
    }
    return undefined;
  }

  async attach(req: AttachRequest, io: StreamIO): Promise<void> {
    const rec = await this.runningContainer(req.containerId);
    // Input needs the stdin pipe conmon keeps only for containers created with stdin.
    const useStdin = io.stdin !== undefined && rec.config.stdin;
    if (io.stdin && !useStdin) this.log.debug({ id: rec.id }, 'attach: container has no stdin, ignoring input');
    const resizer = new TerminalResizer(this.log, rec.id);
    if (rec.config.tty) io.onResize((size) => resizer.resize(size));
    const helper = startIoHelper(
      this.o.ioHelperPath,
      ['attach', '--status-fd', '3', ...(useStdin ? [] : ['--no-stdin']), conmonAttachPath(this.o.socketDir, rec.id)],
      { stdin: useStdin },
    );
    // Detaching closes only our connection: the container goes on.
    const onAbort = () => helper.child.kill('SIGKILL');
    if (io.signal.aborted) onAbort();
    else io.signal.addEventListener('abort', onAbort, { once: true });
    try {
      try {
        await helper.connected;
      } catch (err) {
        if (io.signal.aborted) return;
        if (err instanceof HelperExit && err.code === HELPER_CANNOT_CONNECT) {
          throw failedPrecondition(`attach to ${rec.id}: the container is not running (${err.message})`, err);
        }
        throw new CoreletError('Internal', `attach to ${rec.id}: ${(err as Error).message}`, { cause: err });
      }
      const unwire = wireStreams(helper.child, { ...io, stdin: useStdin ? io.stdin : undefined });
      if (rec.config.tty) resizer.attachTo(conmonCtlPath(this.o.socketDir, rec.id));
      try {
        const end = await helper.done;
        if (end.code !== 0 && !io.signal.aborted) this.log.warn({ id: rec.id, code: end.code, message: end.message }, 'attach helper failed');
      } finally {
        unwire();
      }
    } finally {
      resizer.close();
      io.signal.removeEventListener('abort', onAbort);
      await waitOrKill(helper.done, helper.child, this.log);
    }
  }

  async portForward(req: PortForwardRequest, signal: AbortSignal): Promise<Duplex> {
    if (!Number.isInteger(req.port) || req.port < 1 || req.port > 65535) throw invalidArgument(`port-forward: port ${req.port} is not in 1-65535`);
    const sandbox = this.o.store.sandbox(req.podSandboxId);
    if (sandbox.state !== 'ready') throw failedPrecondition(`port-forward to pod ${sandbox.id}: the pod is not ready`);
    // A host-network pod listens in our own namespace.
    const netns = sandbox.netnsPath ?? '/proc/self/ns/net';
    const helper = startIoHelper(this.o.ioHelperPath, ['netconnect', '--status-fd', '3', netns, String(req.port)], { stdin: true, collectStderr: true });
    const onAbort = () => helper.child.kill('SIGKILL');
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      await helper.connected;
    } catch (err) {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) throw new CoreletError('Unavailable', `port-forward to pod ${sandbox.id}: cancelled`, { cause: err });
      if (err instanceof HelperExit && err.code === HELPER_CANNOT_CONNECT) {
        throw new CoreletError('Unavailable', `port-forward to pod ${sandbox.id} port ${req.port}: ${err.message}`, { cause: err });
      }
      throw new CoreletError('Internal', `port-forward to pod ${sandbox.id} port ${req.port}: ${(err as Error).message}`, { cause: err });
    }
    signal.removeEventListener('abort', onAbort);
    const stream = new HelperDuplex(helper);
    // From now on the stream owns the helper: aborting destroys the stream, which kills it.
    const onStreamAbort = () => stream.destroy();
    signal.addEventListener('abort', onStreamAbort, { once: true });
    stream.once('close', () => signal.removeEventListener('abort', onStreamAbort));
    if (signal.aborted) stream.destroy();
    return stream;
  }

  /** The container's record, if it is running (exit file absent); FailedPrecondition otherwise. */
  private async runningContainer(idOrPrefix: string): Promise<ContainerRecord> {
    if (!idOrPrefix) throw invalidArgument('container id is required');
    const rec = this.o.store.container(idOrPrefix);
    if (rec.state !== 'running' || (await readExitFile(this.o.exitDir, rec.id)) !== undefined) {
      throw failedPrecondition(`container ${rec.id} is not running`);
    }
    return rec;
  }
}

/** The files of one exec session, all under dir. */
export interface ExecSessionPaths {
  dir: string;
  processFile: string;
  /** conmon's -b: it puts the session's attach socket and ctl/winsz fifos here. */
  bundle: string;
  exitDir: string;
  socketDir: string;
  /** Where the runtime writes the exec'd process's pid. */
  pidFile: string;
  conmonLog: string;
}

/**
 * The process.json of an exec: the container's own process (user, capabilities, env, rlimits,
 * labels) with the new args, a terminal when asked for, and the terminal's first size.
 */
export function execProcessSpec(base: OciProcess, cmd: string[], tty: boolean, size?: TerminalSize): OciProcess {
  const proc = execProcess(base, { args: cmd });
  proc.terminal = tty;
  if (tty && size && size.width > 0 && size.height > 0) proc.consoleSize = { height: size.height, width: size.width };
  return proc;
}

/** conmon's command line for one exec session (api-version 1 exec with attach). */
export function execConmonArgs(o: {
  containerId: string;
  sessionId: string;
  runtimePath: string;
  runtimeRoot: string;
  paths: Pick<ExecSessionPaths, 'processFile' | 'bundle' | 'exitDir' | 'socketDir' | 'pidFile'>;
  tty: boolean;
  stdin: boolean;
}): string[] {
  const args = [
    '--api-version', '1',
    '-c', o.containerId,
    '-u', o.sessionId,
    '-n', `exec-${o.sessionId.slice(0, 12)}`,
    '-r', o.runtimePath,
    '--runtime-arg', `--root=${o.runtimeRoot}`,
    '-b', o.paths.bundle,
    '-p', o.paths.pidFile,
    // The exec's output goes to the client only, never into the container's log.
    '-l', 'none',
    '--exit-dir', o.paths.exitDir,
    '--socket-dir-path', o.paths.socketDir,
    // Debug messages of conmon's runtime child would land in the process's stderr.
    '--log-level', 'error',
    '--sync',
  ];
  if (o.tty) args.push('-t');
  if (o.stdin) args.push('-i');
  args.push('-e', '--exec-attach', '--exec-process-spec', o.paths.processFile);
  return args;
}

/**
 * Sends terminal sizes to conmon's ctl fifo in order. Until attachTo, it only remembers the
 * latest size (for the process spec).
 */
class TerminalResizer {
  private pending: TerminalSize | undefined;
  private ctlPath: string | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly log: Logger,
    private readonly id: string,
  ) {}

  resize(size: TerminalSize): void {
    if (this.closed) return;
    if (this.ctlPath === undefined) this.pending = size;
    else this.send(size);
  }

  /** Ignores later sizes: the session is over (a late resize must not reach an attached container). */
  close(): void {
    this.closed = true;
  }

  /** The size seen so far, which the caller applies itself; forgotten here. */
  takePending(): TerminalSize | undefined {
    const size = this.pending;
    this.pending = undefined;
    return size;
  }

  attachTo(ctlPath: string): void {
    this.ctlPath = ctlPath;
    const size = this.takePending();
    if (size) this.send(size);
  }

  /** Resolves once every size given so far has been written. */
  flushed(): Promise<void> {
    return this.chain;
  }

  private send(size: TerminalSize): void {
    const ctl = this.ctlPath!;
    this.chain = this.chain.then(() =>
      resizeTerminal(ctl, { height: size.height, width: size.width }).catch((err: unknown) =>
        // conmon gone (session over) or a size out of range: the session goes on regardless.
        this.log.debug({ id: this.id, size, err: String(err) }, 'terminal resize not applied'),
      ),
    );
  }
}

/** corelet-io's exit code when it cannot connect (conmon gone, or nothing listens on the port). */
const HELPER_CANNOT_CONNECT = 3;

/** corelet-io ended before connecting; code is its exit code, message what it said. */
class HelperExit extends Error {
  constructor(
    readonly code: number | null,
    message: string,
  ) {
    super(message);
  }
}

/** A running corelet-io. */
interface IoHelper {
  child: ChildProcess;
  /** Resolves once the socket is connected; rejects (HelperExit) when the helper ends first. */
  connected: Promise<void>;
  /** Resolves once the helper has exited and its stdio is drained. */
  done: Promise<{ code: number | null; message: string }>;
}

/**
 * Starts corelet-io with a status pipe on fd 3 (it says "connected" there, and, in attach mode,
 * "error: ..." lines). With collectStderr its stderr is only diagnostics and is kept as the
 * message; otherwise stderr is the container's and left to the caller.
 */
function startIoHelper(path: string, args: string[], opts: { stdin: boolean; collectStderr?: boolean }): IoHelper {
  const child = spawn(path, args, { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'] });
  child.stdin?.on('error', () => undefined); // EPIPE once the helper is gone; its exit tells why
  const lines: string[] = [];
  let isConnected = false;
  let resolveConnected!: () => void;
  let rejectConnected!: (err: Error) => void;
  const connected = new Promise<void>((resolve, reject) => {
    resolveConnected = resolve;
    rejectConnected = reject;
  });
  connected.catch(() => undefined); // a caller that stopped waiting must not crash the process
  new LineQueue(child.stdio[3] as Readable, (line) => {
    if (line === 'connected') {
      isConnected = true;
      resolveConnected();
    } else if (line.trim() !== '') {
      lines.push(line.replace(/^error: /, '').replace(/^corelet-io: /, ''));
    }
  });
  if (opts.collectStderr) {
    new LineQueue(child.stderr!, (line) => {
      if (line.trim() !== '') lines.push(line.replace(/^corelet-io: /, ''));
    });
  }
  const done = new Promise<{ code: number | null; message: string }>((resolve) => {
    let settled = false;
    const finish = (code: number | null, spawnError?: Error) => {
      if (settled) return;
      settled = true;
      const message = spawnError ? `cannot run ${path}: ${spawnError.message}` : lines.join('; ') || `corelet-io exited with code ${code}`;
      if (!isConnected) rejectConnected(new HelperExit(code, message));
      resolve({ code, message });
    };
    child.once('close', (code) => finish(code));
    child.once('error', (err) => finish(null, err));
  });
  return { child, connected, done };
}

/**
 * Wires the helper's stdio to the client's streams: stdin in, stdout and stderr out (output
 * nobody asked for is read and dropped, so the helper never blocks on it). Returns the undo.
 */
function wireStreams(child: ChildProcess, io: Pick<StreamIO, 'stdin' | 'stdout' | 'stderr'>): () => void {
  const undo: (() => void)[] = [];
  if (io.stdin && child.stdin) {
    const input = child.stdin;
    io.stdin.pipe(input);
    undo.push(() => io.stdin!.unpipe(input));
  }
  for (const [from, to] of [
    [child.stdout!, io.stdout],
    [child.stderr!, io.stderr],
  ] as const) {
    if (to) {
      from.pipe(to, { end: false });
      // A client stream that fails must not leave the helper blocked on a full pipe.
      const onError = () => {
        from.unpipe(to);
        from.resume();
      };
      to.once('error', onError);
      undo.push(() => {
        from.unpipe(to);
        to.removeListener('error', onError);
      });
    } else {
      from.resume();
    }
  }
  return () => undo.forEach((f) => f());
}

/** A Duplex over a connected `corelet-io netconnect`: writes go to the TCP peer, reads come from it. */
class HelperDuplex extends Duplex {
  private readonly helper: IoHelper;

  constructor(helper: IoHelper) {
    super({ allowHalfOpen: true });
    this.helper = helper;
    const out = helper.child.stdout!;
    out.on('data', (d: Buffer) => {
      if (!this.push(d)) out.pause();
    });
    // The peer closed its side (half-close): our readable ends, writing may go on.
    out.once('end', () => this.push(null));
    void helper.done.then(({ code, message }) => {
      if (code !== 0 && !this.destroyed) this.destroy(new CoreletError('Unavailable', `port-forward connection failed: ${message}`));
    });
  }

  override _read(): void {
    this.helper.child.stdout!.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.helper.child.stdin!.write(chunk, callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    // The helper shuts the connection down for writing once its stdin ends.
    this.helper.child.stdin!.end(callback);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const c = this.helper.child;
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    callback(err);
  }
}

/** Reads newline-terminated lines from a stream, for a callback or one at a time with next(). */
class LineQueue {
  private buf = '';
  private readonly lines: string[] = [];
  private ended = false;
  private waiter: ((line: string | undefined) => void) | undefined;

  constructor(stream: Readable, onLine?: (line: string) => void) {
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) !== -1) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (onLine) onLine(line);
        else this.deliver(line);
      }
    });
    stream.on('error', () => undefined); // the end of the process tells what happened
    stream.on('close', () => {
      this.ended = true;
      this.deliver(undefined);
    });
  }

  private deliver(line: string | undefined): void {
    if (line !== undefined) this.lines.push(line);
    if (!this.waiter) return;
    if (this.lines.length > 0) {
      const w = this.waiter;
      this.waiter = undefined;
      w(this.lines.shift());
    } else if (this.ended) {
      const w = this.waiter;
      this.waiter = undefined;
      w(undefined);
    }
  }

  /** The next line, or undefined once the stream has closed. */
  next(): Promise<string | undefined> {
    if (this.lines.length > 0) return Promise.resolve(this.lines.shift());
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}

/** The next message conmon wrote on a pipe, or undefined once it closed without one. */
async function nextSyncMessage(q: LineQueue): Promise<SyncMessage | undefined> {
  for (;;) {
    const line = await q.next();
    if (line === undefined) return undefined;
    if (line.trim() === '') continue;
    return parseSyncMessage(`${line}\n`);
  }
}

function signalProcess(pid: number | undefined, signal: NodeJS.Signals, log: Logger): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch (err) {
    if (errnoCode(err) !== 'ESRCH') log.warn({ pid, err: String(err) }, 'signalling process');
  }
}

/** Waits for a child's end; SIGKILLs it if it takes longer than KILL_GRACE_MS. */
async function waitOrKill(ended: Promise<unknown>, child: ChildProcess, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), KILL_GRACE_MS);
  });
  try {
    if ((await Promise.race([ended, late])) === 'late') {
      log.warn({ pid: child.pid, file: child.spawnfile }, 'process did not end, killing it');
      child.kill('SIGKILL');
      await ended;
    }
  } finally {
    clearTimeout(timer);
  }
}

/** The last lines of conmon's early log, without its harmless oom_score_adj warning. */
async function readTail(file: string): Promise<string> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return text
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.includes('oom_score_adj'))
      .slice(-5)
      .join('; ');
  } catch {
    return '';
  }
}
