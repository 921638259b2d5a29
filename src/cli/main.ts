#!/usr/bin/env node
import { Command } from 'commander';
import { packageInfo } from './package-info.js';
import { registerRuntimeCommand } from './runtime.js';
import { registerImagesCommand } from './images.js';
import { registerAgentCommand } from './agent.js';
import { registerSchedulerCommand } from './scheduler.js';
import { registerUpCommand } from './up.js';
import { registerApplyCommand } from './apply.js';
import { registerGetCommand } from './get.js';
import { registerDescribeCommand } from './describe.js';
import { registerDeleteCommand } from './delete.js';
import { registerScaleCommand } from './scale.js';
import { registerRolloutCommand } from './rollout.js';
import { registerLogsCommand } from './logs.js';
import { registerExecCommand } from './exec.js';
import { registerNodeCommands } from './nodes.js';
import { registerCreateNamespace, registerLabelCommand } from './namespaces.js';
import { registerAuthCommand, registerCreateCommand } from './rbac.js';
import { registerConfigCommand } from './contexts.js';
import { registerTokenCommand } from './token.js';

const program = new Command();
program
  .name('corelet')
  .description('A Kubernetes-style node stack: CRI runtime, node agent and scheduler')
  .version(packageInfo().version);
registerRuntimeCommand(program);
registerImagesCommand(program);
registerAgentCommand(program);
registerSchedulerCommand(program);
registerUpCommand(program);
// The cluster commands (kubectl-like), talking to the scheduler's API.
registerApplyCommand(program);
registerGetCommand(program);
registerDescribeCommand(program);
registerDeleteCommand(program);
registerScaleCommand(program);
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
  console.error(`corelet: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
