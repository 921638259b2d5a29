/** Helpers shared by the workload controllers: pod readiness, owner references, events, hashing. */
import { createHash } from 'node:crypto';
import { podFinished, type ObjectEvent, type Pod, type PodSpec, type PodTemplateSpec } from '../../api/index.js';
import type { ObjectInput, Store, StoredObject } from '../store/index.js';
import { controllerMayCreatePod } from '../admission/index.js';

/** An owner reference as controllers write them (the owner is the pod's controller). */
export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
}

/** The label naming the revision (pod template) a StatefulSet's or DaemonSet's pod was made from. */
export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';

/** A controller reference to obj. */
export function controllerRef(obj: StoredObject): OwnerRef {
  return { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, uid: obj.metadata.uid, controller: true };
}

/** True when the pod reports condition Ready=True (agents set it). */
export function isPodReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * True when the pod has been Ready for at least minReadySeconds at `now`. Without a
 * lastTransitionTime the pod counts as available only when minReadySeconds is 0.
 */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: Date): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const since = pod.status?.conditions.find((c) => c.type === 'Ready')?.lastTransitionTime;
  if (!since) return false;
  return Date.parse(since) + minReadySeconds * 1000 <= now.getTime();
}

/** True for pods that finished (Succeeded/Failed) or are being deleted: they no longer count. */
export function isPodInactive(pod: Pod): boolean {
  return podFinished(pod) || pod.metadata.deletionTimestamp !== undefined;
}

/** RFC 3339 at second precision, the way the store stamps objects. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** JSON with object keys sorted, so equal values always serialize (and hash) alike. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

// Consonants and digits only, like Kubernetes' suffixes, so hashes never spell words.
const HASH_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A short, label-safe hash of a value (10 characters), stable across processes. */
export function shortHash(v: unknown): string {
  const digest = createHash('sha256').update(canonicalJson(v)).digest();
  let out = '';
  for (let i = 0; i < 10; i++) out += HASH_ALPHABET[digest[i]! % HASH_ALPHABET.length];
  return out;
}

/** Records a Normal (or Warning) event about obj from a controller. */
export function recordEvent(
  store: Store,
  obj: StoredObject,
  reason: string,
  message: string,
  component: string,
  now: Date,
  type: ObjectEvent['type'] = 'Normal',
): void {
  const ts = rfc3339(now);
  store.recordEvent({
    type,
    reason,
    message,
    involvedObject: { kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name, uid: obj.metadata.uid },
    firstTimestamp: ts,
    lastTimestamp: ts,
    count: 1,
    source: { component },
  });
}

/**
 * Creates a pod for a controller: the one place where controllers make pods, so the pod's namespace's
 * Pod Security level is checked for every one of them. A refused pod is not created (undefined); a
 * FailedCreate Warning event on the owner says why.
 */
export function createOwnedPod(store: Store, owner: StoredObject, pod: ObjectInput & { spec?: unknown; status?: unknown }, component: string, now: Date): StoredObject | undefined {
  const admitted = controllerMayCreatePod(store, pod as Parameters<typeof controllerMayCreatePod>[1], (reason, message, type) =>
    recordEvent(store, owner, reason, message, component, now, type),
  );
  return admitted ? (store.create('Pod', pod) as StoredObject) : undefined;
}

/**
 * Creates a pod from a controller's pod template, as the Kubernetes controllers' GetPodFromTemplate
 * does: named `<owner>-<random>` in the owner's namespace, the template's labels and annotations with
 * `extra`'s on top, the owner as controller, a copy of the template's spec (or of `extra.spec`),
 * Pending; records SuccessfulCreate on the owner. Undefined when refused ({@link createOwnedPod}).
 */
export function createPodFromTemplate(
  store: Store,
  owner: StoredObject,
  template: PodTemplateSpec,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string>; spec?: PodSpec },
  component: string,
  now: Date,
): (Pod & StoredObject) | undefined {
  const pod = createOwnedPod(store, owner, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${owner.metadata.name}-`,
      namespace: owner.metadata.namespace,
      labels: { ...template.metadata.labels, ...extra.labels },
      annotations: { ...template.metadata.annotations, ...extra.annotations },
      ownerReferences: [controllerRef(owner)],
    },
    spec: structuredClone(extra.spec ?? template.spec),
    status: { phase: 'Pending', conditions: [], initContainerStatuses: [], containerStatuses: [] },
  }, component, now) as unknown as (Pod & StoredObject) | undefined;
  if (pod) recordEvent(store, owner, 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`, component, now);
  return pod;
}

/**
 * Order in which surplus pods go: unbound before bound, not Ready before Ready, newest first
 * (so the pods most likely serving traffic stay longest).
 */
export function podDeletionOrder(a: Pod, b: Pod): number {
  const bound = (p: Pod) => (p.spec.nodeName ? 1 : 0);
  const ready = (p: Pod) => (isPodReady(p) ? 1 : 0);
  if (bound(a) !== bound(b)) return bound(a) - bound(b);
  if (ready(a) !== ready(b)) return ready(a) - ready(b);
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? 1 : -1;
  return a.metadata.name < b.metadata.name ? 1 : -1;
}
