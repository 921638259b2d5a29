/**
 * `corelet rollout status|history|undo`: follow a rollout until it finishes (like kubectl, it waits),
 * list a Deployment's revisions (its ReplicaSets), and roll back to an earlier one.
 */
import type { Command } from 'commander';
import { namespaceOf, withClient, withConnectionOptions, withNamespaceOptions, type CommonOptions } from './cluster-options.js';
import { describePodTemplate } from './describe-format.js';
import { collectionPath, objectPath, parseTarget, resolveKind, type KindInfo } from './kinds.js';
import { createProgress, parseDuration, pollUntil } from './progress.js';
import { readiness } from './readiness.js';
import { formatTable } from './table.js';
import { cliIo, outLine } from './io.js';

const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';

/** One kind and name from `TYPE NAME` or `TYPE/NAME`, of the allowed kinds. */
function oneTarget(type: string, name: string | undefined, allowed: string[], verb: string): { info: KindInfo; name: string } {
  const { info, names } = parseTarget(name === undefined ? [type] : [type, name]);
  if (!allowed.includes(info.kind)) {
    const kinds = allowed.map((k) => resolveKind(k).resource).join(', ');
    throw new Error(`rollout ${verb} works on ${kinds}, not ${info.resource}`);
  }
  if (names.length !== 1) throw new Error(`name one object: corelet rollout ${verb} ${info.aliases[1]} NAME`);
  return { info, name: names[0] };
}

/** A revision number from --revision / --to-revision. */
function parseRevision(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim())) throw new Error(`${flag} must be a revision number (see \`corelet rollout history\`), got "${text}"`);
  return Number(text);
}

/** Registers `corelet rollout status|history|undo`. */
export function registerRolloutCommand(program: Command): void {
  const rollout = program.command('rollout').description('follow, list and undo rollouts of deployments (status also of statefulsets and daemonsets)');

  const status = rollout
    .command('status <type> [name]')
    .description('wait until the rollout has finished, showing its progress')
    .option('--timeout <duration>', 'give up after this long (e.g. 5m); 0 waits for ever', '0');
  withNamespaceOptions(status);
  withConnectionOptions(status).action(async (type: string, name: string | undefined, opts: CommonOptions & { timeout: string }) => {
    const target = oneTarget(type, name, ['Deployment', 'StatefulSet', 'DaemonSet'], 'status');
    const timeoutMs = parseDuration(opts.timeout, '--timeout');
    await withClient(opts, async (client) => {
      const path = objectPath(target.info, namespaceOf(opts), target.name);
      const message = await pollUntil(async () => readiness(await client.get(path)), {
        timeoutMs,
        progress: createProgress(cliIo().stdout),
        what: `the rollout of ${target.info.display}/${target.name}`,
      });
      outLine(message);
    });
  });

  const history = rollout
    .command('history <type> [name]')
    .description("list a deployment's revisions")
    .option('--revision <n>', "show this revision's pod template");
  withNamespaceOptions(history);
  withConnectionOptions(history).action(async (type: string, name: string | undefined, opts: CommonOptions & { revision?: string }) => {
    const target = oneTarget(type, name, ['Deployment'], 'history');
    const namespace = namespaceOf(opts);
    await withClient(opts, async (client) => {
      const d = await client.get(objectPath(target.info, namespace, target.name));
      const sets = (await client.get<{ items: any[] }>(collectionPath(resolveKind('rs'), namespace))).items
        .filter((rs) => rs.metadata?.ownerReferences?.some((o: { uid: string }) => o.uid === d.metadata.uid))
        .map((rs) => ({ rs, revision: Number(rs.metadata.annotations?.[REVISION_ANNOTATION] ?? 0) }))
        .sort((a, b) => a.revision - b.revision);
      if (opts.revision !== undefined) {
        const wanted = parseRevision(opts.revision, '--revision');
        const found = sets.find((s) => s.revision === wanted);
        if (!found) throw new Error(`${target.info.display}/${target.name} has no revision ${wanted}; it has ${sets.map((s) => s.revision).join(', ') || 'none yet'}`);
        outLine(`${target.info.display}/${target.name} with revision #${wanted}\n${describePodTemplate(found.rs.spec?.template)}`);
        return;
      }
      outLine(`${target.info.display}/${target.name}`);
      if (sets.length === 0) {
        outLine('no revisions yet: the controller has not rolled it out');
        return;
      }
      const rows = sets.map((s) => [String(s.revision), s.rs.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION] ?? '<none>']);
      outLine(formatTable([['REVISION', 'CHANGE-CAUSE'], ...rows]));
    });
  });

  const undo = rollout
    .command('undo <type> [name]')
    .description('roll a deployment back to its previous revision, or to --to-revision')
    .option('--to-revision <n>', 'the revision to go back to (default: the one before the current)');
  withNamespaceOptions(undo);
  withConnectionOptions(undo).action(async (type: string, name: string | undefined, opts: CommonOptions & { toRevision?: string }) => {
    const target = oneTarget(type, name, ['Deployment'], 'undo');
    const toRevision = opts.toRevision !== undefined ? parseRevision(opts.toRevision, '--to-revision') : undefined;
    await withClient(opts, async (client) => {
      await client.request('POST', `${objectPath(target.info, namespaceOf(opts), target.name)}/rollback`, { json: toRevision !== undefined ? { toRevision } : {} });
      outLine(`${target.info.display}/${target.name} rolled back`);
    });
  });
}
