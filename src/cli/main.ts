#!/usr/bin/env node
import { Command } from 'commander';
import { packageInfo } from './package-info.js';
import { registerRuntimeCommand } from './runtime.js';
import { registerImagesCommand } from './images.js';
import { registerAgentCommand } from './agent.js';
import { registerSchedulerCommand } from './scheduler.js';

const program = new Command();
program
  .name('corelet')
  .description('A Kubernetes-style node stack: CRI runtime, node agent and scheduler')
  .version(packageInfo().version);
registerRuntimeCommand(program);
registerImagesCommand(program);
registerAgentCommand(program);
registerSchedulerCommand(program);
program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`corelet: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
