/**
 * Graceful pod deletion, as the API server and kubelet do it: deleting a pod that runs on a node
 * only marks it (metadata.deletionTimestamp = now + grace, deletionGracePeriodSeconds); the node's
 * agent stops its containers within the grace period and confirms (`podTerminated`), and only then
 * is the object removed. So a pod name (a StatefulSet ordinal) is never reused while its old pod may
 * still run. Removed at once: a pod not bound to a node, a finished pod (Succeeded/Failed), a pod
 * whose Node object is gone, and any pod deleted with grace period 0 (`--grace-period=0 --force`).
 */
import { MAX_GRACE_PERIOD_SECONDS, podFinished, type Pod } from '../../api/index.js';
import type { Store, Stored } from '../store/index.js';
import { rfc3339 } from './common.js';

/** What {@link deletePod} did. */
export interface PodDeletion {
  /** The pod as stored now (Terminating) or as it was when removed. */
  pod: Stored<Pod>;
  /** True when the object is gone; false when it waits for its node to confirm. */
  removed: boolean;
  /** The grace period the node is given (0 when removed). */
  gracePeriodSeconds: number;
}

/** 9999-12-31T23:59:59Z: the last time an RFC 3339 timestamp (four-digit year) can say. */
const LAST_RFC3339_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

/** The default terminationGracePeriodSeconds of a pod. */
export const DEFAULT_TERMINATION_GRACE_SECONDS = 30;

/**
 * Deletes a pod gracefully (see the file comment). gracePeriodSeconds overrides the pod's
 * spec.terminationGracePeriodSeconds; a pod already terminating keeps the shorter of the two
 * periods (a second delete may only shorten it). Undefined when there is no such pod.
 */
export function deletePod(store: Store, namespace: string, name: string, now: Date, gracePeriodSeconds?: number): PodDeletion | undefined {
  return store.transaction(() => {
    const pod = store.get<Stored<Pod>>('Pod', namespace, name);
    if (!pod) return undefined;
    const nodeName = pod.spec?.nodeName;
    // Capped: a pod stored before grace periods were bounded at decode (or a caller's value) may hold
    // more than a date can express; one such pod must not make every deletion pass throw.
    const requested = Math.min(gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE_SECONDS, MAX_GRACE_PERIOD_SECONDS);
    if (requested === 0 || !nodeName || podFinished(pod) || !store.get('Node', '', nodeName)) {
      const gone = store.delete<Stored<Pod>>('Pod', namespace, name)!;
      return { pod: gone, removed: true, gracePeriodSeconds: 0 };
    }
    const current = pod.metadata.deletionGracePeriodSeconds;
    if (pod.metadata.deletionTimestamp !== undefined && current !== undefined && current <= requested) {
      return { pod, removed: false, gracePeriodSeconds: current };
    }
    const marked = store.mutate<Pod>('Pod', namespace, name, (p) => {
      p.metadata.deletionTimestamp = rfc3339(new Date(Math.min(now.getTime() + requested * 1000, LAST_RFC3339_MS)));
      p.metadata.deletionGracePeriodSeconds = requested;
    });
    return { pod: marked, removed: false, gracePeriodSeconds: requested };
  });
}

/** True when the pod is being deleted gracefully (it shows as Terminating). */
export function isTerminating(pod: { metadata: { deletionTimestamp?: string } }): boolean {
  return pod.metadata.deletionTimestamp !== undefined;
}

/**
 * The node's agent says the pod with this uid no longer runs there: a terminating pod bound to that
 * node is removed. Returns the removed pod, or undefined (no such pod, or it is not being deleted:
 * then the agent's word changes nothing).
 */
export function confirmPodTerminated(store: Store, nodeName: string, uid: string): Stored<Pod> | undefined {
  return store.transaction(() => {
    const pod = store.list<Stored<Pod>>('Pod', { nodeName }).find((p) => p.metadata.uid === uid);
    if (!pod || !isTerminating(pod)) return undefined;
    return store.delete<Stored<Pod>>('Pod', pod.metadata.namespace, pod.metadata.name, pod.metadata.resourceVersion);
  });
}

/**
 * Terminating pods whose node no longer exists can never be confirmed: they are removed (as
 * Kubernetes' pod garbage collector removes pods of deleted nodes). Returns their names.
 */
export function collectOrphanedTerminatingPods(store: Store, nodeNames: ReadonlySet<string>, _now: Date): string[] {
  const removed: string[] = [];
  for (const pod of store.list<Stored<Pod>>('Pod')) {
    const nodeName = pod.spec?.nodeName;
    if (!isTerminating(pod) || !nodeName || nodeNames.has(nodeName)) continue;
    store.delete('Pod', pod.metadata.namespace, pod.metadata.name);
    removed.push(`${pod.metadata.namespace}/${pod.metadata.name}`);
  }
  return removed;
}
