#!/usr/bin/env node
import { Command } from 'commander';
import { packageInfo } from './package-info.js';
import { registerApplyCommand } from './apply.js';
import { registerGetCommand } from './get.js';
import { registerDescribeCommand } from './describe.js';
import { registerDeleteCommand } from './delete.js';
import { registerScaleCommand } from './scale.js';
import { registerExposeCommand } from './expose.js';
import { registerRolloutCommand } from './rollout.js';
import { registerLogsCommand } from './logs.js';
import { registerExecCommand } from './exec.js';
import { registerNodeCommands } from './nodes.js';
import { registerCreateNamespace, registerLabelCommand } from './namespaces.js';
import { registerAuthCommand, registerCreateCommand } from './rbac.js';
import { registerConfigCommand } from './contexts.js';
import { registerTokenCommand } from './token.js';
import { messageOf } from '../lib/index.js';

const program = new Command();
program
  .name('corelet')
  .description('A Kubernetes-style node stack: CRI runtime, node agent and scheduler')
  .version(packageInfo().version);

// The daemons' modules (runtime, agent, scheduler: gRPC, SQLite, the image store, ...) take most of
// a start-up; the everyday cluster commands do not need them. They are loaded when the command
// names one of them, or when no known command is named (help, a typo), so help still lists them.
const DAEMON_COMMANDS: Record<string, () => Promise<void>> = {
  runtime: async () => (await import('./runtime.js')).registerRuntimeCommand(program),
  images: async () => (await import('./images.js')).registerImagesCommand(program),
  agent: async () => (await import('./agent.js')).registerAgentCommand(program),
  scheduler: async () => (await import('./scheduler.js')).registerSchedulerCommand(program),
  up: async () => (await import('./up.js')).registerUpCommand(program),
  'dns-server': async () => (await import('./dns-server.js')).registerDnsServerCommand(program),
};
const LIGHT_COMMANDS = ['apply', 'get', 'describe', 'delete', 'scale', 'rollout', 'logs', 'exec', 'cordon', 'uncordon', 'drain', 'create', 'label', 'auth', 'config', 'token'];
const named = process.argv.slice(2).find((a) => !a.startsWith('-'));
if (named !== undefined && named in DAEMON_COMMANDS) await DAEMON_COMMANDS[named]();
else if (named === undefined || !LIGHT_COMMANDS.includes(named)) for (const load of Object.values(DAEMON_COMMANDS)) await load();
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
program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`corelet: ${messageOf(err)}`);
  process.exit(1);
});
