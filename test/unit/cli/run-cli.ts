/**
 * Runs the CLI in the test's own process (runCli with its own streams and environment), as a user
 * runs the binary but without starting a process per command: what it printed on standard output
 * and error (each without its last newline, as execa gives a child's) and its exit code. The
 * binary itself is run by cli-binary.test.ts.
 */
import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../../../src/cli/run.js';
import type { CliIo } from '../../../src/cli/io.js';

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A stream that keeps what is written to it. */
export function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => {
    text += c.toString('utf8');
  });
  return { stream, text: () => text };
}

const withoutLastNewline = (s: string) => (s.endsWith('\n') ? s.slice(0, -1) : s);

/** `corelet ARGS...` with exactly env as its environment and input (if any) on standard input. */
export async function cli(env: Record<string, string>, args: string[], input?: string): Promise<CliRun> {
  const stdout = collect();
  const stderr = collect();
  const io: CliIo = { stdin: Readable.from(input === undefined ? [] : [Buffer.from(input)]), stdout: stdout.stream, stderr: stderr.stream, env, exitCode: undefined };
  const { exitCode } = await runCli(args, io);
  return { exitCode, stdout: withoutLastNewline(stdout.text()), stderr: withoutLastNewline(stderr.text()) };
}

/**
 * `corelet ARGS...` left running (get -w): its output so far, a wait for output matching a
 * pattern, and stop() (as Ctrl-C), which resolves once it has ended.
 */
export function cliRunning(env: Record<string, string>, args: string[], opts: { rewatchDelayMs?: number } = {}) {
  const stdout = collect();
  const stderr = collect();
  const abort = new AbortController();
  const io: CliIo = { stdin: Readable.from([]), stdout: stdout.stream, stderr: stderr.stream, env, exitCode: undefined, signal: abort.signal, ...opts };
  const done = runCli(args, io);
  const waitFor = (re: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        if (!re.test(stdout.text())) return;
        stdout.stream.off('data', check);
        resolve(stdout.text());
      };
      stdout.stream.on('data', check);
      // Ended first: the output will not come.
      void done.then((r) => reject(new Error(`the CLI ended (exit code ${r.exitCode}) before printing ${re}:\n${stdout.text()}\n${stderr.text()}`)));
      check();
    });
  return {
    stdout: stdout.text,
    stderr: stderr.text,
    waitFor,
    stop: async () => {
      abort.abort();
      return done;
    },
  };
}
