/**
 * ReplicaSets: the revisions a Deployment keeps. Each holds a pod template and a replica count;
 * {@link syncReplicaSetPods} makes the set's pods match that count.
 */
import { deletePod } from './pod-deletion.js';
import { podFinished, type LabelSelector, type Pod, type PodTemplateSpec } from '../../api/index.js';
import type { Store, Stored, StoredObject } from '../store/index.js';
import { createPodFromTemplate, isPodAvailable, isPodInactive, isPodReady, podDeletionOrder, recordEvent, type OwnerRef } from './common.js';

/** The annotation holding a ReplicaSet's (and its Deployment's) revision number. */
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
/** The label distinguishing one revision's pods from another's. */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

/** A ReplicaSet (apps/v1) as the Deployment controller stores it. */
export interface ReplicaSet {
  apiVersion: 'apps/v1';
  kind: 'ReplicaSet';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    ownerReferences: OwnerRef[];
  };
  spec: { replicas: number; minReadySeconds: number; selector: LabelSelector; template: PodTemplateSpec };
  status?: { replicas: number; readyReplicas: number; availableReplicas: number; observedGeneration?: number };
}

/** A stored ReplicaSet. */
export type StoredReplicaSet = Stored<ReplicaSet>;

/** The revision number of a ReplicaSet (0 when it has none). */
export function revisionOf(rs: StoredObject): number {
  const n = Number(rs.metadata.annotations?.[REVISION_ANNOTATION]);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** What a ReplicaSet's pods look like after a sync. */
export interface ReplicaSetPods {
  /** Active pods (not finished, not being deleted). */
  pods: Pod[];
  ready: number;
  available: number;
}

/** The active pods a ReplicaSet owns and how many are ready and available at `now`. */
export function replicaSetPods(store: Store, rs: StoredReplicaSet, now: Date): ReplicaSetPods {
  const pods = store
    .list<Pod>('Pod', { namespace: rs.metadata.namespace, ownerUid: rs.metadata.uid })
    .filter((p) => !isPodInactive(p));
  return {
    pods,
    ready: pods.filter(isPodReady).length,
    available: pods.filter((p) => isPodAvailable(p, rs.spec.minReadySeconds, now)).length,
  };
}

/**
 * Creates or deletes the ReplicaSet's pods so that spec.replicas active pods exist, deletes its
 * finished pods (so they are replaced), and writes the ReplicaSet's status. New pods are unbound:
 * the scheduler binds them. Returns the pods as they are afterwards.
 */
export function syncReplicaSetPods(store: Store, rs: StoredReplicaSet, now: Date): ReplicaSetPods {
  const ns = rs.metadata.namespace;
  for (const p of store.list<Pod>('Pod', { namespace: ns, ownerUid: rs.metadata.uid })) {
    if (podFinished(p)) store.delete('Pod', ns, p.metadata.name);
  }
  const { pods } = replicaSetPods(store, rs, now);
  const want = rs.spec.replicas;
  if (pods.length < want) {
    for (let i = pods.length; i < want; i++) {
      if (!createPodFromTemplate(store, rs, rs.spec.template, {}, 'replicaset-controller', now)) break;
    }
  } else if (pods.length > want) {
    for (const p of [...pods].sort(podDeletionOrder).slice(0, pods.length - want)) {
      deletePod(store, ns, p.metadata.name, now);
      recordEvent(store, rs, 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`, 'replicaset-controller', now);
    }
  }
  const after = replicaSetPods(store, rs, now);
  store.mutate<ReplicaSet>('ReplicaSet', ns, rs.metadata.name, (cur) => {
    cur.status = {
      replicas: after.pods.length,
      readyReplicas: after.ready,
      availableReplicas: after.available,
      observedGeneration: cur.metadata.generation,
    };
  });
  return after;
}
