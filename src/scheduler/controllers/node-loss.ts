/** Node loss: pods on a node that stayed NotReady too long are deleted so their controllers replace them. */
import type { Node, Pod } from '../../api/index.js';
import type { Store, StoredObject } from '../store/index.js';
import { recordEvent } from './common.js';

/** A pod removed from a lost node. */
export interface EvictedPod {
  namespace: string;
  name: string;
  nodeName: string;
}

/**
 * When a Node's Ready condition has been other than True for longer than timeoutMs at `now`. The
 * clock starts at the condition's lastTransitionTime (else its lastHeartbeatTime); a node that never
 * reported Ready counts from its creation. Undefined while the node is Ready or within the timeout.
 */
export function nodeLostSince(node: Node & StoredObject, now: Date, timeoutMs: number): number | undefined {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'True') return undefined;
  const since = Date.parse(ready?.lastTransitionTime ?? ready?.lastHeartbeatTime ?? node.metadata.creationTimestamp);
  if (Number.isNaN(since)) return undefined;
  return now.getTime() - since > timeoutMs ? since : undefined;
}

/**
 * Deletes every pod bound to a node that has been NotReady (or Unknown) for longer than timeoutMs,
 * recording a NodeLost event on each pod. Controllers then create replacements, which the scheduler
 * places elsewhere. Returns the deleted pods.
 */
export function reconcileNodeLoss(store: Store, now: Date, timeoutMs: number): EvictedPod[] {
  const evicted: EvictedPod[] = [];
  store.transaction(() => {
    for (const node of store.list<Node & StoredObject>('Node')) {
      if (nodeLostSince(node, now, timeoutMs) === undefined) continue;
      const nodeName = node.metadata.name;
      for (const pod of store.list<Pod & StoredObject>('Pod', { nodeName })) {
        store.delete('Pod', pod.metadata.namespace, pod.metadata.name);
        recordEvent(store, pod, 'NodeLost', `Deleted pod: node ${nodeName} has not been Ready for over ${Math.round(timeoutMs / 1000)}s`, 'node-lifecycle-controller', now, 'Warning');
        evicted.push({ namespace: pod.metadata.namespace, name: pod.metadata.name, nodeName });
      }
    }
  });
  return evicted;
}
