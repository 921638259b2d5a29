import { spawn } from 'node:child_process';
import { CoreletError } from '../../lib/index.js';

/** What a finished command returned. */
export interface CommandResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** Bytes written to the command's stdin, then closed; without it stdin is /dev/null. */
  input?: Buffer | string;
  /** Kill the command (SIGKILL) and fail with DeadlineExceeded after this long. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs file with args to completion and collects its output; a non-zero exit is a result, not an
 * error (callers read the runtime's message from stderr). Fails only when the command cannot start
 * (Unavailable: the binary is missing) or runs past timeoutMs (DeadlineExceeded).
 */
export function runCommand(file: string, args: string[], opts: RunCommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, opts.timeoutMs);
    }
    child.stdout!.on('data', (d: Buffer) => stdout.push(d));
    child.stderr!.on('data', (d: Buffer) => stderr.push(d));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new CoreletError('Unavailable', `cannot run ${file}: ${err.message}`, { cause: err }));
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new CoreletError('DeadlineExceeded', `${file} ${args.join(' ')} did not finish in ${opts.timeoutMs} ms`));
        return;
      }
      resolve({ exitCode, signal, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) });
    });
    if (opts.input !== undefined && child.stdin) {
      // The command may exit before reading everything (EPIPE): its exit code tells what happened.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
  });
}
