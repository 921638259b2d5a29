/**
 * What a CLI command reads and writes besides the scheduler: standard input, output and error, the
 * environment, the exit code it leaves, and a signal that ends a command that runs until
 * interrupted (`get -w`, `logs -f`). The binary runs with the process's own; a test runs the CLI in
 * its own process with its own (runCli in run.ts), so one command's output and exit code never mix
 * with another's. Commands reach it through {@link cliIo}, never through `process` or `console`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { homedir } from 'node:os';
import type { Readable, Writable } from 'node:stream';

export interface CliIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The exit code a command leaves when it ends without an error (exec: the command's). */
  exitCode: number | undefined;
  /** Ends a command that runs until interrupted, as Ctrl-C does the binary. */
  readonly signal?: AbortSignal;
  /** How long `get -w` waits before watching again after the scheduler ended a short watch (ms). */
  readonly rewatchDelayMs?: number;
}

const current = new AsyncLocalStorage<CliIo>();

/** The process's own streams, environment and exit code. */
export function processIo(): CliIo {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    get exitCode() {
      return typeof process.exitCode === 'number' ? process.exitCode : undefined;
    },
    set exitCode(code: number | undefined) {
      process.exitCode = code;
    },
  };
}

/** The I/O of the command running now (the process's outside {@link withCliIo}). */
export function cliIo(): CliIo {
  return current.getStore() ?? processIo();
}

/** Runs fn (and everything it starts) with io as the CLI's I/O. */
export function withCliIo<T>(io: CliIo, fn: () => T): T {
  return current.run(io, fn);
}

/** Prints a line on standard output. */
export function outLine(text: string): void {
  cliIo().stdout.write(`${text}\n`);
}

/** Prints a line on standard error. */
export function errLine(text: string): void {
  cliIo().stderr.write(`${text}\n`);
}

/** The user's home directory ($HOME of the command's environment). */
export function homeDir(): string {
  return cliIo().env.HOME || homedir();
}
