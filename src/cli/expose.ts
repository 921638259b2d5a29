/**
 * `corelet expose deployment NAME --port P [--target-port T] [--type NodePort] [--name N]
 * [--protocol UDP]`: a Service in front of a workload's pods, as `kubectl expose` makes it (the
 * workload's matchLabels as its selector, the workload's labels as its own).
 */
import type { Command } from 'commander';
import type { LabelSelector } from '../api/index.js';
import { namespaceOf, withClient, withConnectionOptions, withNamespaceOptions, type CommonOptions } from './cluster-options.js';
import { objectPath, parseTarget } from './kinds.js';
import { outLine } from './io.js';

interface ExposeOptions extends CommonOptions {
  port: string;
  targetPort?: string;
  type?: string;
  name?: string;
  protocol?: string;
}

/** The kinds whose pods a Service can select through their selector. */
const EXPOSABLE = ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'];

/** What {@link serviceForWorkload} reads of the workload. */
interface Workload {
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec?: { selector?: LabelSelector };
}

function portNumber(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || Number(text) > 65535) throw new Error(`${flag} must be a port number from 1 to 65535, got "${text}"`);
  return Number(text);
}

/**
 * The Service `expose` creates for a workload (pure): refused, as kubectl does, when the workload's
 * selector has matchExpressions (a Service selects by labels only) or flags are invalid.
 */
export function serviceForWorkload(workload: Workload, opts: Omit<ExposeOptions, keyof CommonOptions>): Record<string, unknown> {
  const port = portNumber(opts.port, '--port');
  let targetPort: number | string = port;
  if (opts.targetPort !== undefined) {
    targetPort = /^\d+$/.test(opts.targetPort) ? portNumber(opts.targetPort, '--target-port') : opts.targetPort;
    if (typeof targetPort === 'string' && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(targetPort)) throw new Error(`--target-port must be a port number or a container port's name, got "${opts.targetPort}"`);
  }
  const type = opts.type ?? 'ClusterIP';
  if (type !== 'ClusterIP' && type !== 'NodePort') throw new Error(`--type must be ClusterIP or NodePort, got "${type}"`);
  const protocol = (opts.protocol ?? 'TCP').toUpperCase();
  if (protocol !== 'TCP' && protocol !== 'UDP') throw new Error(`--protocol must be TCP or UDP, got "${opts.protocol}"`);
  const selector = workload.spec?.selector;
  if (selector?.matchExpressions?.length) throw new Error(`${workload.kind.toLowerCase()}/${workload.metadata.name}: its selector has matchExpressions, which a Service cannot use; write the Service yourself`);
  const matchLabels = selector?.matchLabels ?? {};
  if (Object.keys(matchLabels).length === 0) throw new Error(`${workload.kind.toLowerCase()}/${workload.metadata.name} has no matchLabels to select its pods by`);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: opts.name ?? workload.metadata.name, namespace: workload.metadata.namespace, labels: workload.metadata.labels ?? {} },
    spec: { type, selector: { ...matchLabels }, ports: [{ port, protocol, targetPort }] },
  };
}

/** Registers `corelet expose`. */
export function registerExposeCommand(program: Command): void {
  const cmd = program
    .command('expose <type> [name]')
    .description("make a Service in front of a deployment's (replicaset's, statefulset's, daemonset's) pods")
    .requiredOption('--port <port>', 'the port the Service answers on')
    .option('--target-port <port>', "the pods' port: a number or a container port's name (default: --port)")
    .option('--type <type>', 'ClusterIP (default) or NodePort')
    .option('--name <name>', "the Service's name (default: the workload's)")
    .option('--protocol <protocol>', 'TCP (default) or UDP');
  withNamespaceOptions(cmd);
  withConnectionOptions(cmd).action(async (type: string, name: string | undefined, opts: ExposeOptions) => {
    const { info, names } = parseTarget(name === undefined ? [type] : [type, name]);
    if (!EXPOSABLE.includes(info.kind)) throw new Error(`cannot expose ${info.resource}: use a deployment, replicaset, statefulset or daemonset`);
    if (names.length !== 1) throw new Error(`name one ${info.display.split('.')[0]} to expose: corelet expose ${info.aliases[1]} NAME --port P`);
    const namespace = namespaceOf(opts);
    await withClient(opts, async (client) => {
      const workload = await client.get<Workload>(objectPath(info, namespace, names[0]));
      const service = serviceForWorkload(workload, opts);
      await client.request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/services`, { json: service });
      outLine(`service/${(service.metadata as { name: string }).name} exposed`);
    });
  });
}
