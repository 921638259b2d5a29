/**
 * The CLI itself: builds the command tree for one invocation and runs it with the given arguments
 * and I/O (io.ts). main.ts runs it with the process's; tests run it in their own process, many
 * times, with their own streams and environment.
 */
import { Command, CommanderError } from 'commander';
import { messageOf } from '../lib/index.js';
import { errLine, processIo, withCliIo, type CliIo } from './io.js';
import { packageInfo } from './package-info.js';

/**
 * Every command, in the order help lists them, with the module that defines it, loaded only when
 * needed: a run loads the one command it names (`corelet get pods` never loads the daemons, gRPC,
 * SQLite or the image store), all of them when it names none it knows (help, a typo: help lists
 * them all), none for `--version`. A group's load registers every command of its module.
 */
const COMMAND_GROUPS: { names: readonly string[]; load: (program: Command) => Promise<void> }[] = [
  // The daemons and node tools.
  { names: ['runtime'], load: async (p) => (await import('./runtime.js')).registerRuntimeCommand(p) },
  { names: ['images'], load: async (p) => (await import('./images.js')).registerImagesCommand(p) },
  { names: ['agent'], load: async (p) => (await import('./agent.js')).registerAgentCommand(p) },
  { names: ['scheduler'], load: async (p) => (await import('./scheduler.js')).registerSchedulerCommand(p) },
  { names: ['up'], load: async (p) => (await import('./up.js')).registerUpCommand(p) },
  { names: ['dns-server'], load: async (p) => (await import('./dns-server.js')).registerDnsServerCommand(p) },
  // The cluster commands (kubectl-like), talking to the scheduler's API.
  { names: ['apply'], load: async (p) => (await import('./apply.js')).registerApplyCommand(p) },
  { names: ['get'], load: async (p) => (await import('./get.js')).registerGetCommand(p) },
  { names: ['describe'], load: async (p) => (await import('./describe.js')).registerDescribeCommand(p) },
  { names: ['delete'], load: async (p) => (await import('./delete.js')).registerDeleteCommand(p) },
  { names: ['scale'], load: async (p) => (await import('./scale.js')).registerScaleCommand(p) },
  { names: ['expose'], load: async (p) => (await import('./expose.js')).registerExposeCommand(p) },
  { names: ['rollout'], load: async (p) => (await import('./rollout.js')).registerRolloutCommand(p) },
  { names: ['logs'], load: async (p) => (await import('./logs.js')).registerLogsCommand(p) },
  { names: ['exec'], load: async (p) => (await import('./exec.js')).registerExecCommand(p) },
  { names: ['cordon', 'uncordon', 'drain'], load: async (p) => (await import('./nodes.js')).registerNodeCommands(p) },
  {
    names: ['create'],
    load: async (p) => {
      const [rbac, namespaces] = await Promise.all([import('./rbac.js'), import('./namespaces.js')]);
      namespaces.registerCreateNamespace(rbac.registerCreateCommand(p));
    },
  },
  { names: ['label'], load: async (p) => (await import('./namespaces.js')).registerLabelCommand(p) },
  { names: ['auth'], load: async (p) => (await import('./rbac.js')).registerAuthCommand(p) },
  { names: ['config'], load: async (p) => (await import('./contexts.js')).registerConfigCommand(p) },
  { names: ['token'], load: async (p) => (await import('./token.js')).registerTokenCommand(p) },
];

/** Whether args start a daemon (`corelet runtime`, `corelet agent`) rather than print its help. */
export function startsDaemon(args: readonly string[]): boolean {
  const named = args.find((a) => !a.startsWith('-'));
  return (named === 'runtime' || named === 'agent') && !args.includes('--help') && !args.includes('-h');
}

/** The groups a run with args needs: the named command's, none for --version alone, else all. */
export function commandGroupsFor(args: readonly string[]): typeof COMMAND_GROUPS {
  const named = args.find((a) => !a.startsWith('-'));
  const help = args.includes('--help') || args.includes('-h');
  if (named === undefined && !help && (args.includes('--version') || args.includes('-V'))) return [];
  const group = named === undefined ? undefined : COMMAND_GROUPS.find((g) => g.names.includes(named));
  return group ? [group] : COMMAND_GROUPS;
}

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
      // Loaded one after another: help lists the commands in this order.
      for (const group of commandGroupsFor(args)) await group.load(program);
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
