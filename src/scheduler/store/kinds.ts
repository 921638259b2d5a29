/**
 * The object kinds the scheduler store holds, their scope and apiVersion, and the stored object shape.
 */
import { RBAC_API_VERSIONS, type ObjectMeta, type ObjectEvent } from '../../api/index.js';

/** RBAC kinds (rbac.authorization.k8s.io/v1) and ServiceAccount (v1). */
const RBAC_STORE_KINDS = ['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding', 'ServiceAccount'] as const;

/** Every kind the store accepts; anything else is rejected at the boundary. */
export const STORE_KINDS = ['Pod', 'Node', 'Deployment', 'ReplicaSet', 'StatefulSet', 'Job', 'DaemonSet', 'Namespace', ...RBAC_STORE_KINDS] as const;

/** One of {@link STORE_KINDS}. ReplicaSet holds a Deployment's revisions (its rollout history). */
export type StoreKind = (typeof STORE_KINDS)[number];

/** Kinds without a namespace: their objects carry `metadata.namespace === ''`. */
const CLUSTER_SCOPED: ReadonlySet<StoreKind> = new Set<StoreKind>(['Node', 'Namespace', 'ClusterRole', 'ClusterRoleBinding']);

/** The apiVersion Kubernetes serves each kind under, filled in when an object comes without one. */
export const API_VERSIONS: Readonly<Record<StoreKind, string>> = {
  Pod: 'v1',
  Node: 'v1',
  Deployment: 'apps/v1',
  ReplicaSet: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  Job: 'batch/v1',
  Namespace: 'v1',
  ...RBAC_API_VERSIONS,
};

/** The API group of a kind ("" for core kinds, "apps" for Deployment), from its apiVersion. */
export function groupOfKind(kind: StoreKind): string {
  const v = API_VERSIONS[kind];
  return v.includes('/') ? v.split('/')[0] : '';
}

/** True for kinds whose objects live in a namespace. */
export function isNamespaced(kind: StoreKind): boolean {
  return !CLUSTER_SCOPED.has(kind);
}

/** True when s names a kind the store holds. */
export function isStoreKind(s: unknown): s is StoreKind {
  return typeof s === 'string' && (STORE_KINDS as readonly string[]).includes(s);
}

/** Metadata as callers hand it to create/update: only a name (or generateName) is required. */
export type ObjectMetaInput = Partial<ObjectMeta> & { generateName?: string };

/** What create/update accept: any JSON object with Kubernetes-shaped metadata. */
export interface ObjectInput {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMetaInput;
}

/**
 * An object as the store returns it: metadata complete (uid, resourceVersion, creationTimestamp,
 * generation, labels, annotations), the rest as written.
 */
export interface StoredObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta & { resourceVersion: string; creationTimestamp: string; generation: number; generateName?: string };
  [field: string]: unknown;
}

/** What create/update/mutate return for an input of type T: T's own fields, metadata as stored. */
export type Stored<T> = Omit<T, 'apiVersion' | 'kind' | 'metadata'> & StoredObject;

/** A committed change, as watch listeners receive it (frozen: copy before changing it). */
export type WatchChange =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; kind: StoreKind; object: Readonly<StoredObject> }
  | { type: 'ADDED' | 'MODIFIED'; kind: 'Event'; object: Readonly<ObjectEvent> };
