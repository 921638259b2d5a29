import { spawn } from 'node:child_process';

/**
 * A short program run to completion, for the hot paths of a daemon (mount, umount, unshare, CNI
 * plugins: a dozen per pod). It is node's spawn with two pipes and nothing else: execa costs about
 * 2 ms more CPU per run in a 60-100 MiB daemon (option normalisation, an env copy, abort
 * signals and their DOMExceptions, stream wrappers), and a pod start and stop ran twelve of them.
 */

/** Options of {@link runProgram}. */
export interface RunProgramOptions {
  /** Written to the program's stdin, then closed; without it stdin is /dev/null. */
  input?: string | Buffer;
  /** The whole environment (default: this process's); pass `{ ...process.env, ...more }` to extend it. */
  env?: NodeJS.ProcessEnv;
  /** SIGKILL after this long; the result then says timedOut. */
  timeoutMs?: number;
}

/** How a program ended. Never a rejection: a program that could not start has exitCode undefined and startError. */
export interface ProgramResult {
  /** undefined when it could not start or died of a signal. */
  exitCode: number | undefined;
  signal: NodeJS.Signals | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Why it could not start (ENOENT, EACCES, ...), when it could not. */
  startError?: string;
  /** One line on a failure that is no exit code (could not start, signal, timeout); '' otherwise. */
  shortMessage: string;
}

export function runProgram(file: string, args: readonly string[], opts: RunProgramOptions = {}): Promise<ProgramResult> {
  return new Promise((resolve) => {
    const describe = `${file}${args.length ? ` ${args.join(' ')}` : ''}`;
    let child;
    try {
      child = spawn(file, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    } catch (err) {
      const msg = (err as Error).message;
      resolve({ exitCode: undefined, signal: undefined, stdout: '', stderr: '', timedOut: false, startError: msg, shortMessage: `could not run ${describe}: ${msg}` });
      return;
    }
    const out: Buffer[] = [];
    const errs: Buffer[] = [];
    let timedOut = false;
    let startError: string | undefined;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs);
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => errs.push(d));
    child.on('error', (err) => {
      // spawn failures (ENOENT, EACCES) come here, then 'close' with no exit code
      startError ??= err.message;
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const exitCode = code ?? undefined;
      const shortMessage = startError
        ? `could not run ${describe}: ${startError}`
        : timedOut
          ? `${describe} timed out after ${opts.timeoutMs} ms`
          : signal
            ? `${describe} was killed with ${signal}`
            : '';
      resolve({ exitCode: startError ? undefined : exitCode, signal: signal ?? undefined, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errs).toString('utf8'), timedOut, startError, shortMessage });
    });
    if (opts.input !== undefined && child.stdin) {
      // The program may exit before reading everything (EPIPE): its exit code says what happened.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
  });
}
