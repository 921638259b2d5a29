/**
 * `corelet cordon|uncordon|drain NODE`: mark a node unschedulable (or schedulable again), and empty
 * it: cordon, delete its pods (except DaemonSet pods, which belong on every node) so their
 * controllers recreate them elsewhere, and wait until they are gone.
 */
import type { Command } from 'commander';
import type { Pod } from '../api/index.js';
import type { ApiClient } from './api-client.js';
import type { ClusterFlags } from './client-config.js';
import { withClient, withConnectionOptions } from './cluster-options.js';
import { objectPath, resolveKind } from './kinds.js';
import { query } from './get.js';
import { createProgress, parseDuration, pollUntil } from './progress.js';
import { cliIo, outLine } from './io.js';

const NODE = resolveKind('node');
const POD = resolveKind('pod');

/** "node/n1" or "n1" → "n1". */
function nodeName(arg: string): string {
  const slash = arg.indexOf('/');
  if (slash < 0) return arg;
  if (resolveKind(arg.slice(0, slash)).kind !== 'Node') throw new Error(`"${arg}": name a node`);
  return arg.slice(slash + 1);
}

/** Sets spec.unschedulable; prints what changed. */
async function setUnschedulable(client: ApiClient, name: string, unschedulable: boolean): Promise<void> {
  const path = objectPath(NODE, '', name);
  const node = await client.get(path);
  const verb = unschedulable ? 'cordoned' : 'uncordoned';
  if ((node.spec?.unschedulable === true) === unschedulable) {
    outLine(`node/${name} already ${verb}`);
    return;
  }
  await client.patch(path, { spec: { unschedulable } });
  outLine(`node/${name} ${verb}`);
}

/** True for pods a DaemonSet runs: drain leaves them, their controller would put them back anyway. */
export function isDaemonSetPod(pod: Pod): boolean {
  return (pod.metadata.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet');
}

/** Registers `corelet cordon`, `uncordon` and `drain`. */
export function registerNodeCommands(program: Command): void {
  for (const [verb, unschedulable, what] of [
    ['cordon', true, 'mark a node unschedulable: no new pods go there'],
    ['uncordon', false, 'mark a node schedulable again'],
  ] as const) {
    withConnectionOptions(program.command(`${verb} <node>`).description(what)).action(async (node: string, opts) => {
      await withClient(opts, (client) => setUnschedulable(client, nodeName(node), unschedulable));
    });
  }

  const drain = program
    .command('drain <node>')
    .description("cordon a node and delete its pods (not DaemonSet pods) so they run elsewhere; waits until they are gone")
    .option('--timeout <duration>', 'give up waiting after this long (e.g. 2m); 0 waits for ever', '5m');
  withConnectionOptions(drain).action(async (arg: string, opts: ClusterFlags & { timeout: string }) => {
    const name = nodeName(arg);
    const timeoutMs = parseDuration(opts.timeout, '--timeout');
    await withClient(opts, async (client) => {
      await setUnschedulable(client, name, true);
      const onNode = async () => (await client.get<{ items: Pod[] }>('/api/v1/pods' + query({ fieldSelector: `spec.nodeName=${name}` }))).items;
      const pods = await onNode();
      const daemons = pods.filter(isDaemonSetPod);
      if (daemons.length > 0) outLine(`Warning: ignoring DaemonSet-managed Pods: ${daemons.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(', ')}`);
      const evict = pods.filter((p) => !isDaemonSetPod(p));
      for (const p of evict) {
        outLine(`evicting pod ${p.metadata.namespace}/${p.metadata.name}`);
        try {
          await client.delete(objectPath(POD, p.metadata.namespace, p.metadata.name));
        } catch (err) {
          if ((err as { status?: number }).status !== 404) throw err; // already gone: what we wanted
        }
      }
      const uids = new Set(evict.map((p) => p.metadata.uid));
      let reported = new Set<string>();
      await pollUntil(
        async () => {
          const left = (await onNode()).filter((p) => uids.has(p.metadata.uid));
          const leftUids = new Set(left.map((p) => p.metadata.uid));
          for (const p of evict) if (!leftUids.has(p.metadata.uid) && !reported.has(p.metadata.uid)) outLine(`pod/${p.metadata.name} evicted`);
          reported = new Set(evict.map((p) => p.metadata.uid).filter((u) => !leftUids.has(u)));
          if (left.length === 0) return { done: true, message: `node/${name} drained` };
          return { done: false, message: `waiting for ${left.length} pods to leave node ${name}: ${left.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(', ')}` };
        },
        { timeoutMs, progress: createProgress(cliIo().stdout), what: `node ${name} to drain (it stays cordoned; \`corelet uncordon ${name}\` undoes that)` },
      );
      outLine(`node/${name} drained`);
    });
  });
}
