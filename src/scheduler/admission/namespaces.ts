/**
 * Namespace lifecycle, as Kubernetes' NamespaceLifecycle admission does it: `default` and
 * `kube-system` always exist (created when missing at start, and cannot be deleted), an object can
 * only be created in a namespace that exists, and deleting a namespace deletes everything in it.
 * The deletion is synchronous (one transaction): corelet has no Terminating phase.
 */
import { BUILTIN_NAMESPACES, type Namespace } from '../../api/index.js';
import { notFound, permissionDenied } from '../../lib/index.js';
import { STORE_KINDS, isNamespaced, type Store, type StoredObject } from '../store/index.js';

/**
 * Creates the built-in namespaces that are missing (Active), and a Namespace for every namespace
 * that objects already use (a store written before corelet had Namespace objects), so they stay
 * reachable and deletable.
 */
export function ensureBuiltinNamespaces(store: Store): void {
  store.transaction(() => {
    const used = new Set<string>(BUILTIN_NAMESPACES);
    for (const kind of STORE_KINDS.filter(isNamespaced)) for (const obj of store.list(kind)) used.add(obj.metadata.namespace);
    for (const name of used) {
      if (store.get('Namespace', '', name)) continue;
      store.create('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, status: { phase: 'Active' } });
    }
  });
}

/** NotFound (404) `namespaces "foo" not found` unless the namespace exists. */
export function requireNamespace(store: Store, namespace: string): void {
  if (!store.get<Namespace>('Namespace', '', namespace)) throw notFound(`namespaces ${JSON.stringify(namespace)} not found`);
}

/** A Namespace as created: status.phase Active (what kubectl's STATUS column shows). */
export function withActivePhase<T extends { status?: unknown }>(obj: T): T {
  return { ...obj, status: { phase: 'Active' } };
}

/**
 * Deletes a namespace and every namespaced object in it, in one transaction. Returns the deleted
 * namespace (undefined when there was none) and the deleted pods, whose agents must be told to
 * stop them. The built-in namespaces cannot be deleted (403, as Kubernetes refuses it).
 */
export function deleteNamespace(store: Store, name: string): { namespace: StoredObject | undefined; pods: StoredObject[] } {
  if (BUILTIN_NAMESPACES.includes(name)) {
    throw permissionDenied(`namespaces ${JSON.stringify(name)} is forbidden: this namespace may not be deleted`);
  }
  return store.transaction(() => {
    if (!store.get('Namespace', '', name)) return { namespace: undefined, pods: [] };
    const pods: StoredObject[] = [];
    // Owners first, so nothing recreates what was just deleted within this pass.
    const kinds = [...STORE_KINDS].filter(isNamespaced).sort((a, b) => Number(a === 'Pod') - Number(b === 'Pod'));
    for (const kind of kinds) {
      for (const obj of store.list(kind, { namespace: name })) {
        const gone = store.delete<StoredObject>(kind, name, obj.metadata.name);
        if (gone && kind === 'Pod') pods.push(gone);
      }
    }
    return { namespace: store.delete<StoredObject>('Namespace', '', name), pods };
  });
}
