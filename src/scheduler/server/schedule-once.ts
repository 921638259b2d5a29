/**
 * One pass of the scheduling loop: place every unbound pod, bind it in the store, and hand it to the
 * chosen node's agent with `assign`.
 */
import { MESSAGE_VERSION, type Node, type Pod } from '../../api/index.js';
import { CoreletError } from '../../lib/index.js';
import { ClusterSnapshot, schedule } from '../placement/index.js';
import type { Store } from '../store/index.js';
import type { NodeSessions } from './node-sessions.js';

/** The event source the scheduler writes as. */
export const SCHEDULER_COMPONENT = 'corelet-scheduler';

/** What {@link scheduleOnce} did. */
export interface ScheduleOnceResult {
  /** "namespace/name" → node. */
  bound: Record<string, string>;
  /** "namespace/name" → the FailedScheduling message. */
  unschedulable: Record<string, string>;
}

const TERMINAL = new Set(['Succeeded', 'Failed']);

/**
 * Places each unbound, live pod (oldest first) against a snapshot of nodes and bound pods, binds it
 * (the snapshot then counts it, so one pass does not overfill a node), and sends `assign` to the
 * node's session if it has one (an agent without one receives its pods when it re-registers, see
 * {@link assignBoundPods}). A pod that fits nowhere gets a FailedScheduling Warning event with the
 * per-node reasons and stays unbound for the next pass.
 */
export function scheduleOnce(store: Store, sessions: NodeSessions, now: Date = new Date()): ScheduleOnceResult {
  const result: ScheduleOnceResult = { bound: {}, unschedulable: {} };
  const pods = store.list<Pod>('Pod');
  const snapshot = new ClusterSnapshot(store.list<Node>('Node'), pods);
  const pending = pods
    .filter((p) => !p.spec.nodeName && !p.metadata.deletionTimestamp && !TERMINAL.has(p.status?.phase ?? ''))
    .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
  for (const pod of pending) {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    let placed: ReturnType<typeof schedule>;
    try {
      placed = schedule(pod, snapshot);
    } catch (err) {
      // One unreadable pod (bad quantities) must not stop the others from being placed.
      placed = { node: undefined, reasons: {}, message: `cannot place pod: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (placed.node === undefined) {
      const ts = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
      store.recordEvent({
        type: 'Warning',
        reason: 'FailedScheduling',
        message: placed.message,
        involvedObject: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
        firstTimestamp: ts,
        lastTimestamp: ts,
        count: 1,
        source: { component: SCHEDULER_COMPONENT },
      });
      result.unschedulable[key] = placed.message;
      continue;
    }
    let bound: Pod;
    try {
      bound = store.bindPod<Pod>(pod.metadata.namespace, pod.metadata.name, placed.node, pod.metadata.uid);
    } catch (err) {
      // Deleted, recreated or bound by someone else since the list: the next pass sees the truth.
      if (err instanceof CoreletError && (err.kind === 'NotFound' || err.kind === 'FailedPrecondition')) continue;
      throw err;
    }
    snapshot.addPod(bound, placed.node);
    result.bound[key] = placed.node;
    sessions.send(placed.node, { v: MESSAGE_VERSION, type: 'assign', pod: bound });
  }
  return result;
}

/** Sends `assign` for every live pod bound to nodeName (after it registers or reconnects). */
export function assignBoundPods(store: Store, sessions: NodeSessions, nodeName: string): number {
  let sent = 0;
  for (const pod of store.list<Pod>('Pod', { nodeName })) {
    if (TERMINAL.has(pod.status?.phase ?? '')) continue;
    if (sessions.send(nodeName, { v: MESSAGE_VERSION, type: 'assign', pod })) sent++;
  }
  return sent;
}
