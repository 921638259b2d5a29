/**
 * The Namespace object (v1, cluster-scoped) and its manifest decoding. A namespace's labels carry
 * its Pod Security admission levels (pod-security.ts), checked here so an invalid level is refused
 * when the namespace is written.
 */
import { FieldReader, fieldPath as at } from './field-reader.js';
import { checkDnsLabel } from './names.js';
import { checkFormat, decodeMeta } from './pod-decode.js';
import { podSecurityLabelProblems } from './pod-security.js';
import type { DeclaredMeta, ObjectMeta } from './pod-types.js';

/** A namespace's lifecycle phase (a deleted namespace goes at once here: no Terminating phase). */
export type NamespacePhase = 'Active' | 'Terminating';

/** A v1 Namespace. metadata.namespace is always ''. */
export interface Namespace {
  apiVersion: 'v1';
  kind: 'Namespace';
  metadata: ObjectMeta;
  spec?: { finalizers?: string[] };
  status?: { phase: NamespacePhase };
}

/** Namespaces every cluster has from the scheduler's start. */
export const BUILTIN_NAMESPACES: readonly string[] = ['default', 'kube-system'];

/**
 * Decodes a Namespace document (already known to be kind Namespace, apiVersion v1): name an RFC
 * 1123 label, labels and annotations as for any object, valid pod-security labels. A
 * metadata.namespace in the manifest is dropped (the API server ignores it for cluster-scoped
 * objects); spec and status are not kept (no finalizers).
 */
export function decodeNamespace(r: FieldReader, o: Record<string, unknown>, base: string, source: string): { apiVersion: 'v1'; kind: 'Namespace'; metadata: DeclaredMeta } | undefined {
  const before = r.errors.length;
  r.object(o, base, ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  const metaPath = at(base, 'metadata');
  if (o.metadata === undefined || o.metadata === null) r.error(metaPath, 'required value');
  const meta = decodeMeta(r, o.metadata, metaPath, source);
  if (meta.name) checkFormat(r, at(metaPath, 'name'), meta.name, checkDnsLabel);
  for (const problem of podSecurityLabelProblems(meta.labels)) r.error(base, problem);
  const given = typeof (o.metadata as Record<string, unknown> | undefined)?.uid === 'string';
  const { uid, namespace: _ns, ...rest } = meta;
  if (r.errors.length > before) return undefined;
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { ...rest, namespace: '', ...(given ? { uid } : {}) } };
}
