/**
 * `corelet exec POD [-c C] -- CMD...`: runs a command in a container to completion (no stdin, no
 * TTY), prints its output and exits with its exit code.
 */
import type { Command } from 'commander';
import { namespaceOf, withClient, withConnectionOptions, withNamespaceOptions, type CommonOptions } from './cluster-options.js';
import { objectPath, resolveKind } from './kinds.js';
import { podName } from './logs.js';
import { cliIo } from './io.js';

interface ExecOptions extends CommonOptions {
  container?: string;
  timeout?: string;
}

/** Registers `corelet exec`. */
export function registerExecCommand(program: Command): void {
  const cmd = program
    .command('exec <pod> [command...]')
    .description('run a command in a container: corelet exec POD [-c CONTAINER] -- COMMAND [ARGS...]')
    .option('-c, --container <name>', 'the container (needed when the pod has several)')
    .option('--timeout <seconds>', 'stop the command after this many seconds (default: the scheduler\'s, 300)');
  withNamespaceOptions(cmd);
  withConnectionOptions(cmd).action(async (pod: string, command: string[], opts: ExecOptions) => {
    if (command.length === 0) throw new Error(`say what to run after --, e.g. corelet exec ${pod} -- ls /`);
    if (opts.timeout !== undefined && !/^[1-9]\d*$/.test(opts.timeout)) throw new Error(`--timeout must be a whole number of seconds, got "${opts.timeout}"`);
    const path = `${objectPath(resolveKind('pod'), namespaceOf(opts), podName(pod))}/exec`;
    const body = { command, ...(opts.container ? { container: opts.container } : {}), ...(opts.timeout ? { timeoutSeconds: Number(opts.timeout) } : {}) };
    const result = await withClient(opts, async (client) => (await client.request<{ stdout: string; stderr: string; exitCode: number }>('POST', path, { json: body, noTimeout: true })).body);
    cliIo().stdout.write(result.stdout);
    cliIo().stderr.write(result.stderr);
    // The command's own exit code, as kubectl exec passes it on.
    cliIo().exitCode = result.exitCode;
  });
}
