/**
 * One pass of the scheduling loop: place every unbound pod, bind it in the store, and hand it to the
 * chosen node's agent with `assign`.
 */
import { MessageError, MESSAGE_VERSION, podFinished, type Node, type ObjectEvent, type Pod } from '../../api/index.js';
import { CoreletError, type Logger, messageOf } from '../../lib/index.js';
import { bindClaim, claimNode } from '../controllers/index.js';
import { ClusterSnapshot, localClaimsOf, pinnedNodeOf, schedule, type ScheduleResult } from '../placement/index.js';
import type { Store, WatchChange } from '../store/index.js';
import type { NodeSessions } from './node-sessions.js';
import { enforcedLevel } from '../admission/index.js';

/** The event source the scheduler writes as. */
export const SCHEDULER_COMPONENT = 'corelet-scheduler';

/** What {@link scheduleOnce} did. */
export interface ScheduleOnceResult {
  /** "namespace/name" → node. */
  bound: Record<string, string>;
  /** "namespace/name" → the FailedScheduling message. */
  unschedulable: Record<string, string>;
}


/**
 * A ClusterSnapshot kept current from the store's watch, so a scheduling pass does not rebuild it
 * from every node and pod (with 5,000 nodes and 10,000 pods that rebuild cost more than placing a
 * few hundred pods). Built on first use; thrown away and rebuilt when an update cannot be applied.
 */
export class SchedulingCache {
  private snapshot: ClusterSnapshot | undefined;
  private readonly unwatch: () => void;

  constructor(private readonly store: Store) {
    this.unwatch = store.watch((change) => this.apply(change));
  }

  /** The current snapshot (built from the store when there is none). */
  current(): ClusterSnapshot {
    return (this.snapshot ??= new ClusterSnapshot(this.store.list<Node>('Node'), this.store.list<Pod>('Pod')));
  }

  /** Forgets the snapshot: the next pass rebuilds it (after a pass failed half-way). */
  invalidate(): void {
    this.snapshot = undefined;
  }

  /** Stops following the store. */
  close(): void {
    this.unwatch();
    this.snapshot = undefined;
  }

  private apply(change: WatchChange): void {
    const snapshot = this.snapshot;
    if (snapshot === undefined || (change.kind !== 'Node' && change.kind !== 'Pod')) return;
    try {
      if (change.kind === 'Node') {
        const node = change.object as unknown as Node;
        if (change.type === 'DELETED') snapshot.removeNode(node.metadata.name);
        else snapshot.setNode(node);
        return;
      }
      // As the ClusterSnapshot constructor counts them: bound and not finished.
      const pod = change.object as unknown as Pod;
      const nodeName = pod.spec?.nodeName;
      if (change.type !== 'DELETED' && nodeName && !podFinished(pod)) snapshot.addPod(pod, nodeName);
      else snapshot.removePod(pod);
    } catch {
      // An object the snapshot cannot read (bad quantities): rebuild, which reports it per pod.
      this.snapshot = undefined;
    }
  }
}

/** Where a pod's persistent local claims hold their data, as placement needs it. */
interface ClaimPlacement {
  /** The node holding the data of the pod's bound claims (undefined while none is bound). */
  node?: string;
  /** The claim that decided `node`, for messages. */
  claim?: string;
  /** Set when bound claims disagree: the pod cannot run anywhere. */
  conflict?: string;
  /** Claims not bound yet: they are bound to the pod's node with the pod. */
  unbound: string[];
}

function claimPlacement(store: Store, pod: Pod, claims: string[]): ClaimPlacement {
  const out: ClaimPlacement = { unbound: [] };
  for (const claim of claims) {
    const node = claimNode(store, pod.metadata.namespace, claim);
    if (node === undefined) out.unbound.push(claim);
    else if (out.node === undefined) Object.assign(out, { node, claim });
    else if (node !== out.node && out.conflict === undefined) {
      out.conflict =
        `cannot place pod: its claims ${out.claim} and ${claim} hold their data on different nodes (${out.node}, ${node}), ` +
        'so no single node has all of it; give the pod claims bound to one node';
    }
  }
  return out;
}

function recordWarning(store: Store, involvedObject: ObjectEvent['involvedObject'], reason: string, message: string, now: Date): void {
  const ts = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  store.recordEvent({
    type: 'Warning',
    reason,
    message,
    involvedObject,
    firstTimestamp: ts,
    lastTimestamp: ts,
    count: 1,
    source: { component: SCHEDULER_COMPONENT },
  });
}

/**
 * Places each unbound, live pod (oldest first) against a snapshot of nodes and bound pods, binds it
 * (the snapshot then counts it, so one pass does not overfill a node), and sends `assign` to the
 * node's session if it has one (an agent without one receives its pods when it re-registers, see
 * {@link assignBoundPods}). A pod that fits nowhere gets a FailedScheduling Warning event with the
 * per-node reasons and stays unbound for the next pass.
 *
 * Storage-aware: a pod with persistentLocal volumes may only go to the node its bound claims are
 * bound to (their data is there), even when that node is NotReady or full, in which case it waits
 * and its event says where its data is. Its unbound claims are bound to its node in the same
 * transaction as the pod, so a killed scheduler never leaves one without the other. A pod pinned
 * by its controller (a DaemonSet's, see PINNED_NODE_ANNOTATION) only goes to that node; when it
 * does not fit there, its DaemonSet gets a FailedPlacement Warning as well.
 */
export function scheduleOnce(store: Store, sessions: NodeSessions, now: Date = new Date(), cache?: SchedulingCache): ScheduleOnceResult {
  const result: ScheduleOnceResult = { bound: {}, unschedulable: {} };
  // Unbound pods come straight from the store's node index: a pass with none to place reads nothing else.
  const pending = store
    .list<Pod>('Pod', { nodeName: '' })
    .filter((p) => !p.metadata.deletionTimestamp && !podFinished(p))
    .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
  if (pending.length === 0) return result;
  const snapshot = cache ? cache.current() : new ClusterSnapshot(store.list<Node>('Node'), store.list<Pod>('Pod'));
  // The whole pass is one transaction (one fsync, not one per pod); agents hear of their pods only
  // once it has committed.
  const assigns: [string, Pod][] = [];
  try {
    store.transaction(() => {
      for (const pod of pending) {
        const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
        const claims = localClaimsOf(pod);
        const data = claims.length > 0 ? claimPlacement(store, pod, claims) : undefined;
        const pinnedNode = pinnedNodeOf(pod);
        let placed: ScheduleResult;
        if (data?.conflict) {
          placed = { node: undefined, reasons: {}, message: data.conflict };
        } else {
          try {
            placed = schedule(pod, snapshot, { requiredNode: data?.node, pinnedNode });
          } catch (err) {
            // One unreadable pod (bad quantities) must not stop the others from being placed.
            placed = { node: undefined, reasons: {}, message: `cannot place pod: ${messageOf(err)}` };
          }
        }
        if (placed.node === undefined) {
          let message = placed.message;
          if (data?.node !== undefined && !data.conflict) {
            message += ` The pod's data (claim ${data.claim}) is on node ${data.node}, so it waits for that node.`;
          }
          const { namespace, name, uid } = pod.metadata;
          recordWarning(store, { kind: 'Pod', namespace, name, uid }, 'FailedScheduling', message, now);
          const owner = pod.metadata.ownerReferences?.find((o) => o.controller && o.kind === 'DaemonSet');
          if (owner && pinnedNode !== undefined) {
            // `describe daemonset` should show why a node lacks its daemon without looking at each pod.
            const why = placed.reasons[pinnedNode] || placed.message;
            const involved = { kind: 'DaemonSet', namespace, name: owner.name, uid: owner.uid };
            recordWarning(store, involved, 'FailedPlacement', `failed to place pod ${name} on node ${pinnedNode}: ${why}`, now);
          }
          result.unschedulable[key] = message;
          continue;
        }
        const nodeName = placed.node;
        let bound: Pod;
        try {
          const bind = () => store.bindPod<Pod>(pod.metadata.namespace, pod.metadata.name, nodeName, pod.metadata.uid);
          // The claims' first binding commits with the pod's (and only pods with new claims pay for the wrapper).
          bound = data?.unbound.length
            ? store.transaction(() => {
                const b = bind();
                for (const claim of data.unbound) bindClaim(store, pod.metadata.namespace, claim, nodeName);
                return b;
              })
            : bind();
        } catch (err) {
          // Deleted, recreated or bound by someone else since the list: the next pass sees the truth.
          if (err instanceof CoreletError && (err.kind === 'NotFound' || err.kind === 'FailedPrecondition')) continue;
          throw err;
        }
        snapshot.addPod(bound, placed.node);
        result.bound[key] = placed.node;
        assigns.push([placed.node, bound]);
      }
    });
  } catch (err) {
    // The snapshot already counts binds that were rolled back.
    cache?.invalidate();
    throw err;
  }
  for (const [nodeName, pod] of assigns) sessions.send(nodeName, { v: MESSAGE_VERSION, type: 'assign', pod, podSecurity: enforcedLevel(store, pod.metadata.namespace) });
  return result;
}

/**
 * Sends `assign` for every live pod bound to nodeName (after it registers or reconnects), and for
 * every terminating one `assign` (the pod with its deletionTimestamp) then `unassign` with the
 * grace period (the agent stops it within the time left and confirms). Ends with `assignDone`
 * naming every pod bound to the node, finished ones included (not re-sent: nothing of them is to
 * run, but the agent keeps them, their sandbox and logs, until their object is deleted): the agent
 * drops the pods it had that are not named, i.e. removed while it was away.
 */
export function assignBoundPods(store: Store, sessions: NodeSessions, nodeName: string, logger?: Logger): number {
  let sent = 0;
  const pods = store.list<Pod>('Pod', { nodeName });
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp !== undefined) {
      // A restarted agent has no worker for it: the pod as it is (deletionTimestamp, grace) lets it
      // stop the pod within the time left, preStop included, instead of as an orphan.
      sessions.send(nodeName, { v: MESSAGE_VERSION, type: 'assign', pod, podSecurity: enforcedLevel(store, pod.metadata.namespace) });
      if (sendTermination(sessions, pod)) sent++;
      continue;
    }
    if (podFinished(pod)) continue;
    if (sessions.send(nodeName, { v: MESSAGE_VERSION, type: 'assign', pod, podSecurity: enforcedLevel(store, pod.metadata.namespace) })) sent++;
  }
  try {
    sessions.send(nodeName, { v: MESSAGE_VERSION, type: 'assignDone', uids: pods.map((p) => p.metadata.uid) });
  } catch (err) {
    // Over the message limit (some 100,000 pods bound to one node, mostly finished): without the
    // marker the agent keeps what it had plus the re-sent pods, which is safe; the caller goes on.
    if (!(err instanceof MessageError)) throw err;
    logger?.warn({ node: nodeName, pods: pods.length, err: err.message }, 'cannot send assignDone: the agent keeps its pods until its next resync');
  }
  return sent;
}

/**
 * Tells a terminating pod's node to stop it within its deletion grace period; the agent answers
 * `podTerminated` once nothing of the pod runs, and the pod object is then removed.
 */
export function sendTermination(sessions: NodeSessions, pod: Pod): boolean {
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) return false;
  const grace = pod.metadata.deletionGracePeriodSeconds;
  return sessions.send(nodeName, { v: MESSAGE_VERSION, type: 'unassign', uid: pod.metadata.uid, reason: 'Deleted', ...(grace === undefined ? {} : { gracePeriodSeconds: grace }) });
}

/**
 * A pod created already bound (spec.nodeName in the manifest, after admission) never passes the
 * scheduling pass: it is sent to its node here. When no such Node exists, the pod stays Pending
 * with a Warning event; the node gets it if it registers later (see {@link assignBoundPods}).
 */
export function assignPreboundPod(store: Store, sessions: NodeSessions, pod: Pod, now: Date = new Date()): boolean {
  const nodeName = pod.spec?.nodeName;
  if (!nodeName || pod.metadata.deletionTimestamp !== undefined || podFinished(pod)) return false;
  const current = store.get<Pod>('Pod', pod.metadata.namespace, pod.metadata.name);
  // The event's copy may be older than a DELETE or a status report: judge the stored pod.
  if (!current || current.metadata.uid !== pod.metadata.uid || current.metadata.deletionTimestamp !== undefined || podFinished(current)) return false;
  if (!store.get('Node', '', nodeName)) {
    const { namespace, name, uid } = pod.metadata;
    const message = `pod is bound to node ${nodeName} (spec.nodeName), which does not exist: it stays Pending until a node of that name registers`;
    recordWarning(store, { kind: 'Pod', namespace, name, uid }, 'NodeNotFound', message, now);
    return false;
  }
  return sessions.send(nodeName, { v: MESSAGE_VERSION, type: 'assign', pod: current, podSecurity: enforcedLevel(store, current.metadata.namespace) });
}
