/** The admission chain of API writes (create, apply, update): namespace lifecycle, internal fields, then Pod Security. */
import { isNamespaced, type Store, type StoreKind } from '../store/index.js';
import { requireNamespace } from './namespaces.js';
import { refuseInternalVolumes } from './internal-volumes.js';
import { admitPod, namespaceLevelWarnings, podSecurityWarnings } from './pod-security.js';

interface Written {
  metadata: { name?: string; generateName?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: unknown;
  status?: unknown;
}

/**
 * Admits an object about to be created (current undefined) or to replace `current`; returns the
 * warnings for the response's Warning headers. Throws NotFound for a create in a namespace that
 * does not exist, PermissionDenied (403) for a pod its namespace's enforce level refuses. A new
 * Namespace gets status.phase Active. A pod update that leaves the spec as it was is not judged
 * again (as Kubernetes exempts metadata-only updates).
 */
export function admitWrite(store: Store, kind: StoreKind, obj: Written, current?: { spec?: unknown }): string[] {
  if (current === undefined) {
    if (kind === 'Namespace') obj.status = { phase: 'Active' };
    if (isNamespaced(kind)) requireNamespace(store, obj.metadata.namespace ?? 'default');
  }
  refuseInternalVolumes(kind, obj, current);
  if (kind === 'Namespace' && current !== undefined) return namespaceLevelWarnings(store, obj.metadata.name ?? '', obj.metadata.labels);
  if (kind === 'Pod' && (current === undefined || specText(current.spec) !== specText(obj.spec))) admitPod(store, obj);
  return podSecurityWarnings(store, kind, obj);
}

/** A pod spec as canonical JSON (sorted keys), without the binding. */
function specText(spec: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v === null || typeof v !== 'object') return v;
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([k, x]) => x !== undefined && k !== 'nodeName')
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, x]) => [k, canonical(x)]),
    );
  };
  return JSON.stringify(canonical(spec ?? {}));
}
