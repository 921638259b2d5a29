/**
 * `corelet delete KIND NAME...`, `delete KIND -l k=v` and `delete -f FILE|DIR|-`: deletes objects
 * (a Deployment takes its ReplicaSets and pods with it; a node its pods).
 */
import type { Command } from 'commander';
import { ApiError, type ApiClient } from './api-client.js';
import { collect, namespaceOf, withClient, withConnectionOptions, withNamespaceOptions, type CommonOptions } from './cluster-options.js';
import { collectionPath, kindOf, knownKinds, objectPath, parseTarget, type KindInfo } from './kinds.js';
import { objectRefs, readManifests } from './manifests.js';
import { query } from './get.js';
import { errLine, outLine } from './io.js';

interface DeleteOptions extends CommonOptions {
  filename: string[];
  selector?: string;
  ignoreNotFound?: boolean;
  gracePeriod: string;
  force?: boolean;
}

/** The warning kubectl prints for a forced deletion. */
export const FORCE_DELETE_WARNING =
  'Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.';

/**
 * kubectl's rules: -1 (default) leaves the pod's own terminationGracePeriodSeconds; 0 without
 * --force becomes 1 (no accidental data loss); --force without a grace period means 0.
 */
export function effectiveGracePeriod(gracePeriod: string, force: boolean): number | undefined {
  const n = Number(gracePeriod);
  if (!Number.isInteger(n) || n < -1) throw new Error(`--grace-period must be a whole number of seconds (-1: the object's own), got ${gracePeriod}`);
  if (n === 0 && !force) return 1;
  if (n < 0) return force ? 0 : undefined;
  return n;
}

/** Registers `corelet delete`. */
export function registerDeleteCommand(program: Command): void {
  const cmd = program
    .command('delete [type] [names...]')
    .description('delete objects by name, by label (-l) or as named in manifests (-f)')
    .option('-f, --filename <path>', 'delete the objects of this manifest file, directory or - (standard input); repeatable', collect, [])
    .option('-l, --selector <k=v,...>', 'delete the objects of the type with these labels')
    .option('--ignore-not-found', 'an object that does not exist is not an error')
    .option('--grace-period <seconds>', 'seconds a pod gets to stop (-1: its own terminationGracePeriodSeconds; 0 needs --force)', '-1')
    .option('--force', 'remove the objects at once, without waiting for their node to confirm the pod stopped (with --grace-period=0)');
  withNamespaceOptions(cmd);
  withConnectionOptions(cmd).action(async (type: string | undefined, names: string[], opts: DeleteOptions) => {
    const targets: { info: KindInfo; namespace: string; name: string }[] = [];
    if (opts.filename.length > 0) {
      if (type !== undefined) throw new Error('give either -f FILE or KIND NAME, not both');
      for (const src of await readManifests(opts.filename)) {
        for (const ref of objectRefs(src.text, src.name)) {
          const info = kindOf(ref.kind);
          if (!info || info.kind === 'Event') throw new Error(`${src.name}: cannot delete kind ${ref.kind}; the cluster holds ${knownKinds()}`);
          targets.push({ info, namespace: ref.namespace ?? namespaceOf(opts), name: ref.name });
        }
      }
    }
    const grace = effectiveGracePeriod(opts.gracePeriod, opts.force === true);
    if (grace === 0) errLine(FORCE_DELETE_WARNING);
    await withClient(opts, async (client) => {
      if (type !== undefined) targets.push(...(await namedTargets(client, [type, ...names], opts)));
      if (targets.length === 0) {
        if (type === undefined && opts.filename.length === 0) throw new Error('say what to delete: KIND NAME, KIND -l k=v, or -f FILE');
        errLine('No resources found');
        return;
      }
      const errors: string[] = [];
      for (const t of targets) {
        try {
          const path = objectPath(t.info, t.namespace, t.name) + (grace === undefined ? '' : query({ gracePeriodSeconds: String(grace) }));
          await client.delete(path);
          outLine(`${t.info.display} "${t.name}" ${grace === 0 ? 'force deleted' : 'deleted'}`);
        } catch (err) {
          if (err instanceof ApiError && err.status === 404) {
            if (!opts.ignoreNotFound) errors.push(`${t.info.display} "${t.name}" not found${t.info.namespaced ? ` in namespace ${t.namespace}` : ''}`);
          } else errors.push((err as Error).message);
        }
      }
      if (errors.length > 0) throw new Error(errors.join('\n'));
    });
  });
}

async function namedTargets(client: ApiClient, args: string[], opts: DeleteOptions): Promise<{ info: KindInfo; namespace: string; name: string }[]> {
  const { info, names } = parseTarget(args);
  if (info.kind === 'Event') throw new Error('events cannot be deleted; they age out on their own');
  const namespace = namespaceOf(opts);
  if (names.length > 0) {
    if (opts.selector) throw new Error('give either names or -l, not both');
    return names.map((name) => ({ info, namespace, name }));
  }
  if (!opts.selector) throw new Error(`name the objects to delete (corelet delete ${args[0]} NAME) or select them with -l k=v`);
  const list = await client.get<{ items: { metadata: { name: string; namespace: string } }[] }>(collectionPath(info, namespace) + query({ labelSelector: opts.selector }));
  return list.items.map((o) => ({ info, namespace: o.metadata.namespace || namespace, name: o.metadata.name }));
}
