/** `corelet logs POD [-c C] [-f] [--tail N] [--previous]`: a container's log, through its node's agent. */
import type { Command } from 'commander';
import { pipeline } from 'node:stream/promises';
import { namespaceOf, withClient, withConnectionOptions, withNamespaceOptions, type CommonOptions } from './cluster-options.js';
import { objectPath, resolveKind } from './kinds.js';
import { query } from './get.js';
import { cliIo } from './io.js';

interface LogsOptions extends CommonOptions {
  container?: string;
  follow?: boolean;
  tail?: string;
  previous?: boolean;
  timestamps?: boolean;
}

/** "pod/web" or "web" → "web" (logs are for pods only). */
export function podName(arg: string): string {
  const slash = arg.indexOf('/');
  if (slash < 0) return arg;
  if (resolveKind(arg.slice(0, slash)).kind !== 'Pod') throw new Error(`"${arg}": only pods have logs and exec; name a pod`);
  return arg.slice(slash + 1);
}

/** Registers `corelet logs`. */
export function registerLogsCommand(program: Command): void {
  const cmd = program
    .command('logs <pod>')
    .description("print a container's log")
    .option('-c, --container <name>', 'the container (needed when the pod has several)')
    .option('-f, --follow', 'keep printing new lines until the container ends')
    .option('--tail <n>', 'only the last n lines')
    .option('-p, --previous', "the previous (restarted) container's log")
    .option('--timestamps', 'prefix each line with its time');
  withNamespaceOptions(cmd);
  withConnectionOptions(cmd).action(async (pod: string, opts: LogsOptions) => {
    if (opts.tail !== undefined && !/^\d+$/.test(opts.tail)) throw new Error(`--tail must be a whole number of lines, got "${opts.tail}"`);
    const path =
      `${objectPath(resolveKind('pod'), namespaceOf(opts), podName(pod))}/log` +
      query({
        container: opts.container,
        follow: opts.follow ? 'true' : undefined,
        tailLines: opts.tail,
        previous: opts.previous ? 'true' : undefined,
        timestamps: opts.timestamps ? 'true' : undefined,
      });
    await withClient(opts, async (client) => {
      const res = await client.stream(path);
      await pipeline(res, cliIo().stdout, { end: false });
    });
  });
}
