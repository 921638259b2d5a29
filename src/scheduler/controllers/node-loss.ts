/** Node loss: pods on a node that stayed NotReady too long are deleted so their controllers replace them. */
import { NODE_STATUS_UNKNOWN, type Node, type Pod, type Taint } from '../../api/index.js';
import { localClaimsOf, toleratesTaint } from '../placement/index.js';
import type { Store, StoredObject } from '../store/index.js';
import { recordEvent } from './common.js';
import { deletePod } from './pod-deletion.js';
import { isolated, type ControllerFailure } from './isolate.js';

const COMPONENT = 'node-lifecycle-controller';

/** A pod removed from a lost node. */
export interface EvictedPod {
  namespace: string;
  name: string;
  nodeName: string;
}

/** When the node's Ready condition stopped being True (undefined while it is Ready or unknown). */
function notReadySince(node: Node & StoredObject): number | undefined {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'True') return undefined;
  const since = Date.parse(ready?.lastTransitionTime ?? ready?.lastHeartbeatTime ?? node.metadata.creationTimestamp);
  return Number.isNaN(since) ? undefined : since;
}

/**
 * When a Node's Ready condition has been other than True for longer than timeoutMs at `now`. The
 * clock starts at the condition's lastTransitionTime (else its lastHeartbeatTime); a node that never
 * reported Ready counts from its creation. Undefined while the node is Ready or within the timeout.
 */
export function nodeLostSince(node: Node & StoredObject, now: Date, timeoutMs: number): number | undefined {
  const since = notReadySince(node);
  if (since === undefined) return undefined;
  return now.getTime() - since > timeoutMs ? since : undefined;
}

/**
 * The NoExecute taint Kubernetes would put on the node: unreachable when its agent went silent,
 * not-ready when the agent itself reports NotReady.
 */
export function lostNodeTaint(node: Node): Taint {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const silent = ready === undefined || ready.status === 'Unknown' || ready.reason === NODE_STATUS_UNKNOWN;
  return { key: silent ? 'node.kubernetes.io/unreachable' : 'node.kubernetes.io/not-ready', effect: 'NoExecute' };
}

/**
 * How long the pod may stay on a node with the taint: the default without a matching toleration,
 * the shortest tolerationSeconds of the matching ones, or undefined (for ever) when none limits it.
 */
function evictionDelayMs(pod: Pod, taint: Taint, defaultMs: number): number | undefined {
  const matching = (pod.spec.tolerations ?? []).filter((t) => toleratesTaint(t, taint));
  if (matching.length === 0) return defaultMs;
  const limits = matching.filter((t) => t.tolerationSeconds !== undefined).map((t) => Math.max(0, t.tolerationSeconds!) * 1000);
  return limits.length === 0 ? undefined : Math.min(...limits);
}

/**
 * Deletes the pods bound to a node that has been NotReady (or Unknown) for longer than timeoutMs,
 * recording a NodeLost event on each pod. Controllers then create replacements, which the scheduler
 * places elsewhere. As in Kubernetes' taint-based eviction, a pod tolerating the node's
 * unreachable/not-ready NoExecute taint stays (a DaemonSet's pod stays for ever), or goes after its
 * tolerationSeconds. A pod with persistent local volumes (a StatefulSet ordinal) is never deleted:
 * its data is on that node, so a replacement could only wait for the node anyway; it gets one
 * NodeLost Warning saying so. Returns the deleted pods.
 */
export function reconcileNodeLoss(store: Store, now: Date, timeoutMs: number): EvictedPod[] {
  const evicted: EvictedPod[] = [];
  store.transaction(() => {
    for (const node of store.list<Node & StoredObject>('Node')) {
      const since = notReadySince(node);
      if (since === undefined) continue;
      evicted.push(...evictPodsFromNode(store, node, since, now, timeoutMs));
    }
  });
  return evicted;
}

/**
 * The eviction step for one lost node whose clock started at sinceMs (its NotReady transition, or
 * when the node lifecycle controller tainted it): each pod without a toleration goes after
 * timeoutMs, a tolerating pod after its tolerationSeconds (never without one). Deletion is graceful:
 * a pod on a node that is still there stays Terminating until the node confirms (it may still run).
 * A pod with persistent local volumes is never deleted (see {@link reconcileNodeLoss}).
 */
export function evictPodsFromNode(store: Store, node: Node & StoredObject, sinceMs: number, now: Date, timeoutMs: number, failures?: ControllerFailure[]): EvictedPod[] {
  const evicted: EvictedPod[] = [];
  const elapsed = now.getTime() - sinceMs;
  if (elapsed <= 0) return evicted;
  const nodeName = node.metadata.name;
  const taint = lostNodeTaint(node);
  const evictOne = (pod: Pod & StoredObject) => {
    if (pod.metadata.deletionTimestamp) return;
    const claims = localClaimsOf(pod);
    if (claims.length > 0) {
      if (elapsed > timeoutMs) noteKept(store, pod, nodeName, claims, timeoutMs, now);
      return;
    }
    const delay = evictionDelayMs(pod, taint, timeoutMs);
    if (delay === undefined || elapsed <= delay) return;
    const result = deletePod(store, pod.metadata.namespace, pod.metadata.name, now);
    const message = result?.removed
      ? `Deleted pod: node ${nodeName} has not been Ready for over ${Math.round(delay / 1000)}s`
      : `Deleting pod: node ${nodeName} has not been Ready for over ${Math.round(delay / 1000)}s; the pod stays Terminating until the node confirms it stopped (or it is deleted with --force)`;
    recordEvent(store, pod, 'NodeLost', message, COMPONENT, now, 'Warning');
    evicted.push({ namespace: pod.metadata.namespace, name: pod.metadata.name, nodeName });
  };
  for (const pod of store.list<Pod & StoredObject>('Pod', { nodeName })) {
    // With failures given, each pod on its own: one pod's exception is recorded, the others are evicted.
    if (failures) isolated(store, failures, `Pod ${pod.metadata.namespace}/${pod.metadata.name} (eviction from node ${nodeName})`, () => evictOne(pod));
    else evictOne(pod);
  }
  return evicted;
}

/** Tells, once per pod, why a pod on a lost node was kept. */
function noteKept(store: Store, pod: Pod & StoredObject, nodeName: string, claims: string[], timeoutMs: number, now: Date): void {
  const message =
    `Kept pod: node ${nodeName} has not been Ready for over ${Math.round(timeoutMs / 1000)}s, but the pod's data ` +
    `(claim ${claims.join(', ')}) is on that node; it runs again when the node is Ready`;
  const { namespace, name, uid } = pod.metadata;
  if (store.listEvents({ kind: 'Pod', namespace, name, uid }).some((e) => e.reason === 'NodeLost' && e.message === message)) return;
  recordEvent(store, pod, 'NodeLost', message, COMPONENT, now, 'Warning');
}
