/**
 * The CLI itself: builds the command tree for one invocation and runs it with the given arguments
 * and I/O (io.ts). main.ts runs it with the process's; tests run it in their own process, many
 * times, with their own streams and environment.
 */
import { Command, CommanderError } from 'commander';
import { messageOf } from '../lib/index.js';
import { registerApplyCommand } from './apply.js';
import { registerConfigCommand } from './contexts.js';
import { registerDeleteCommand } from './delete.js';
import { registerDescribeCommand } from './describe.js';
import { registerExecCommand } from './exec.js';
import { registerExposeCommand } from './expose.js';
import { registerGetCommand } from './get.js';
import { errLine, processIo, withCliIo, type CliIo } from './io.js';
import { registerLogsCommand } from './logs.js';
import { registerCreateNamespace, registerLabelCommand } from './namespaces.js';
import { registerNodeCommands } from './nodes.js';
import { packageInfo } from './package-info.js';
import { registerAuthCommand, registerCreateCommand } from './rbac.js';
import { registerRolloutCommand } from './rollout.js';
import { registerScaleCommand } from './scale.js';
import { registerTokenCommand } from './token.js';

// The daemons' modules (runtime, agent, scheduler: gRPC, SQLite, the image store, ...) take most of
// a start-up; the everyday cluster commands do not need them. They are loaded when the command
// names one of them, or when no known command is named (help, a typo), so help still lists them
// (but not for --version alone).
const DAEMON_COMMANDS: Record<string, (program: Command) => Promise<void>> = {
  runtime: async (program) => (await import('./runtime.js')).registerRuntimeCommand(program),
  images: async (program) => (await import('./images.js')).registerImagesCommand(program),
  agent: async (program) => (await import('./agent.js')).registerAgentCommand(program),
  scheduler: async (program) => (await import('./scheduler.js')).registerSchedulerCommand(program),
  up: async (program) => (await import('./up.js')).registerUpCommand(program),
  'dns-server': async (program) => (await import('./dns-server.js')).registerDnsServerCommand(program),
};
const LIGHT_COMMANDS = ['apply', 'get', 'describe', 'delete', 'scale', 'expose', 'rollout', 'logs', 'exec', 'cordon', 'uncordon', 'drain', 'create', 'label', 'auth', 'config', 'token'];

/** How a run ended: its exit code, and whether it failed with an error (printed on stderr). */
export interface CliResult {
  exitCode: number;
  failed: boolean;
}

/** Runs `corelet ARGS...` (args without the node and script paths) with io. */
export async function runCli(args: readonly string[], io: CliIo = processIo()): Promise<CliResult> {
  return withCliIo(io, async () => {
    const program = new Command();
    // Set before the commands are added, so that every command inherits them.
    program
      .exitOverride()
      .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
      .name('corelet')
      .description('A Kubernetes-style node stack: CRI runtime, node agent and scheduler')
      .version(packageInfo().version);
    try {
      const named = args.find((a) => !a.startsWith('-'));
      const versionOnly = named === undefined && (args.includes('--version') || args.includes('-V')) && !args.includes('--help') && !args.includes('-h');
      if (named !== undefined && named in DAEMON_COMMANDS) await DAEMON_COMMANDS[named](program);
      else if ((named === undefined && !versionOnly) || (named !== undefined && !LIGHT_COMMANDS.includes(named))) for (const load of Object.values(DAEMON_COMMANDS)) await load(program);
      // The cluster commands (kubectl-like), talking to the scheduler's API.
      registerApplyCommand(program);
      registerGetCommand(program);
      registerDescribeCommand(program);
      registerDeleteCommand(program);
      registerScaleCommand(program);
      registerExposeCommand(program);
      registerRolloutCommand(program);
      registerLogsCommand(program);
      registerExecCommand(program);
      registerNodeCommands(program);
      registerCreateNamespace(registerCreateCommand(program));
      registerLabelCommand(program);
      registerAuthCommand(program);
      registerConfigCommand(program);
      registerTokenCommand(program);
      await program.parseAsync(args, { from: 'user' });
      return { exitCode: io.exitCode ?? 0, failed: false };
    } catch (err) {
      // Commander printed its own message (a usage error) or the help/version it was asked for.
      if (err instanceof CommanderError) return { exitCode: err.exitCode, failed: err.exitCode !== 0 };
      errLine(`corelet: ${messageOf(err)}`);
      return { exitCode: 1, failed: true };
    }
  });
}
