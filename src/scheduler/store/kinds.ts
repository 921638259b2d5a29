/**
 * The object kinds the scheduler store holds (read from the kind registry, api/kinds.ts), their scope
 * and apiVersion, and the stored object shape.
 */
import { KINDS, apiVersionOf, kindEntry, type ObjectMeta, type ObjectEvent, type ObjectTableKind } from '../../api/index.js';

/** One of {@link STORE_KINDS}. ReplicaSet holds a Deployment's revisions (its rollout history). */
export type StoreKind = ObjectTableKind;

/**
 * Every kind the store accepts in its objects table (the registry's kinds but Event, which has a
 * table of its own); anything else is rejected at the boundary.
 */
export const STORE_KINDS: readonly StoreKind[] = KINDS.filter((k) => k.table === 'objects').map((k) => k.kind as StoreKind);

/** The apiVersion Kubernetes serves each kind under, filled in when an object comes without one. */
export const API_VERSIONS: Readonly<Record<StoreKind, string>> = Object.fromEntries(STORE_KINDS.map((k) => [k, apiVersionOf(k)])) as Record<StoreKind, string>;

/** The API group of a kind ("" for core kinds, "apps" for Deployment). */
export function groupOfKind(kind: StoreKind): string {
  return kindEntry(kind).group;
}

/** True for kinds whose objects live in a namespace. */
export function isNamespaced(kind: StoreKind): boolean {
  return kindEntry(kind).namespaced;
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
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; kind: StoreKind; object: Readonly<StoredObject>; /** The change's resourceVersion (the object's, read without parsing it). */ resourceVersion?: string; /** The object as stored (JSON text). */ json?: string; /** The object's namespace ('' for a cluster-scoped kind), read without parsing it. */ namespace?: string }
  | { type: 'ADDED' | 'MODIFIED'; kind: 'Event'; object: Readonly<ObjectEvent> };
