/** `corelet scale deployment|statefulset NAME --replicas N`: sets the replica count (the Scale subresource). */
import type { Command } from 'commander';
import { namespaceOf, withClient, withConnectionOptions, withNamespaceOptions, type CommonOptions } from './cluster-options.js';
import { objectPath, parseTarget } from './kinds.js';
import { outLine } from './io.js';

interface ScaleOptions extends CommonOptions {
  replicas: string;
}

/** A replica count from a flag. */
export function parseReplicas(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) > 2 ** 31 - 1) throw new Error(`--replicas must be a whole number of at least 0, got "${text}"`);
  return Number(text);
}

/** Registers `corelet scale`. */
export function registerScaleCommand(program: Command): void {
  const cmd = program
    .command('scale <type> [name]')
    .description('set the number of replicas of a deployment or statefulset')
    .requiredOption('--replicas <n>', 'the new number of replicas');
  withNamespaceOptions(cmd);
  withConnectionOptions(cmd).action(async (type: string, name: string | undefined, opts: ScaleOptions) => {
    const { info, names } = parseTarget(name === undefined ? [type] : [type, name]);
    if (info.kind !== 'Deployment' && info.kind !== 'StatefulSet') throw new Error(`only deployments and statefulsets can be scaled, not ${info.resource}`);
    if (names.length !== 1) throw new Error(`name one ${info.display.split('.')[0]} to scale: corelet scale ${info.aliases[1]} NAME --replicas N`);
    const replicas = parseReplicas(opts.replicas);
    await withClient(opts, async (client) => {
      await client.request('PUT', `${objectPath(info, namespaceOf(opts), names[0])}/scale`, { json: { apiVersion: 'autoscaling/v1', kind: 'Scale', spec: { replicas } } });
      outLine(`${info.display}/${names[0]} scaled`);
    });
  });
}
