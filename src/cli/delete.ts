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

interface DeleteOptions extends CommonOptions {
  filename: string[];
  selector?: string;
  ignoreNotFound?: boolean;
}

/** Registers `corelet delete`. */
export function registerDeleteCommand(program: Command): void {
  const cmd = program
    .command('delete [type] [names...]')
    .description('delete objects by name, by label (-l) or as named in manifests (-f)')
    .option('-f, --filename <path>', 'delete the objects of this manifest file, directory or - (standard input); repeatable', collect, [])
    .option('-l, --selector <k=v,...>', 'delete the objects of the type with these labels')
    .option('--ignore-not-found', 'an object that does not exist is not an error');
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
    await withClient(opts, async (client) => {
      if (type !== undefined) targets.push(...(await namedTargets(client, [type, ...names], opts)));
      if (targets.length === 0) {
        if (type === undefined && opts.filename.length === 0) throw new Error('say what to delete: KIND NAME, KIND -l k=v, or -f FILE');
        console.error('No resources found');
        return;
      }
      const errors: string[] = [];
      for (const t of targets) {
        try {
          await client.delete(objectPath(t.info, t.namespace, t.name));
          console.log(`${t.info.display} "${t.name}" deleted`);
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
