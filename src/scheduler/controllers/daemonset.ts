/**
 * The DaemonSet controller: one pod on every node that matches the template's nodeSelector and
 * whose taints the pod tolerates. Pods are created unbound but pinned to their node
 * (PINNED_NODE_ANNOTATION), so the scheduler still checks that they fit there (resources, host
 * ports) and reports FailedScheduling when they do not; binding and `assign` stay the scheduler's.
 */
import { deletePod } from './pod-deletion.js';
import type { DaemonSet, DaemonSetStatus, Node, Pod, PodSpec, Taint, Toleration } from '../../api/index.js';
import { labelsInclude, podFinished, resolveIntOrPercent } from '../../api/index.js';
import { PINNED_NODE_ANNOTATION, pinnedNodeOf, tolerated, UNSCHEDULABLE_TAINT } from '../placement/index.js';
import type { Store, Stored, StoredObject } from '../store/index.js';
import { canonicalJson, createPodFromTemplate, CONTROLLER_REVISION_HASH_LABEL, isPodAvailable, isPodReady, recordEvent, shortHash } from './common.js';

const COMPONENT = 'daemonset-controller';

/** A stored DaemonSet. */
export type StoredDaemonSet = Stored<DaemonSet>;

/** What one DaemonSet reconcile did. */
export interface DaemonSetReconcileResult {
  /** The status written to the DaemonSet. */
  status: DaemonSetStatus;
  /** Names of the pods created in this pass. */
  created: string[];
  /** Names of the pods deleted in this pass. */
  deleted: string[];
}

/**
 * Tolerations every daemon pod gets, as Kubernetes adds them: it keeps running on a node that is not
 * ready or unreachable (it is that node's daemon), and it runs on cordoned nodes and nodes under
 * resource pressure.
 */
const DAEMON_TOLERATIONS: readonly Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: UNSCHEDULABLE_TAINT.key, operator: 'Exists', effect: 'NoSchedule' },
];
/** Host-network daemons (a CNI agent, say) also run where the network is not set up yet. */
const NETWORK_UNAVAILABLE_TOLERATION: Toleration = { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' };

/** Kubernetes taints a NotReady node so; daemon pods do not tolerate it, so none starts there. */
const NOT_READY_NO_SCHEDULE: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' };

/** The template's tolerations plus the daemon ones it does not already have (same key and effect). */
export function daemonPodTolerations(spec: Pick<PodSpec, 'tolerations' | 'hostNetwork'>): Toleration[] {
  const out = (spec.tolerations ?? []).map((t) => ({ ...t }));
  const extra = spec.hostNetwork ? [...DAEMON_TOLERATIONS, NETWORK_UNAVAILABLE_TOLERATION] : DAEMON_TOLERATIONS;
  for (const t of extra) if (!out.some((o) => o.key === t.key && o.effect === t.effect)) out.push({ ...t });
  return out;
}

/** Whether a daemon pod belongs on a node: a new one may start there, an existing one may stay. */
export interface DaemonNodeFit {
  shouldRun: boolean;
  shouldContinue: boolean;
}

/**
 * Decides for one node, given the daemon pod's nodeSelector and tolerations (with the daemon ones):
 * a node whose labels do not match, or with a NoExecute taint the pod does not tolerate, must not
 * run it; a NoSchedule taint it does not tolerate, a cordon it does not tolerate, or a node that is
 * not Ready keeps a new pod off but lets a running one stay. Resources are the scheduler's check.
 */
export function daemonNodeFit(node: Node, spec: Pick<PodSpec, 'nodeSelector' | 'tolerations'>): DaemonNodeFit {
  if (!labelsInclude(node.metadata.labels, spec.nodeSelector)) return { shouldRun: false, shouldContinue: false };
  const tolerations = spec.tolerations ?? [];
  let shouldRun = true;
  for (const taint of node.spec?.taints ?? []) {
    if (tolerated(tolerations, taint)) continue;
    if (taint.effect === 'NoExecute') return { shouldRun: false, shouldContinue: false };
    if (taint.effect === 'NoSchedule') shouldRun = false;
  }
  if (node.spec?.unschedulable && !tolerated(tolerations, UNSCHEDULABLE_TAINT)) shouldRun = false;
  const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  if (!ready && !tolerated(tolerations, NOT_READY_NO_SCHEDULE)) shouldRun = false;
  return { shouldRun, shouldContinue: true };
}

/** The node a daemon pod is on (bound) or for (pinned, waiting for the scheduler). */
function nodeOfPod(p: Pod): string | undefined {
  return p.spec.nodeName || pinnedNodeOf(p);
}

/**
 * Reconciles DaemonSet ns/name at `now`:
 *
 * 1. Deletes its finished pods, pods for nodes that are gone or where the pod may not stay (see
 *    {@link daemonNodeFit}), and all but one pod per node (outside a surge).
 * 2. RollingUpdate (pods whose controller-revision-hash is not the template's are old): with
 *    maxSurge 0, deletes old pods while at most maxUnavailable nodes lack an available pod (old
 *    pods that are not available anyway go first, for free); with maxSurge, starts a new pod next
 *    to an old one on up to maxSurge nodes at a time and deletes the old one once the new one is
 *    available. OnDelete replaces a pod only once someone deletes it.
 * 3. Creates a pod, pinned to its node, on every node that should run one and has none.
 *
 * Then writes status: desiredNumberScheduled (nodes that should run the pod), currentNumberScheduled
 * (of those, nodes with a pod bound), numberMisscheduled, numberReady, updatedNumberScheduled,
 * numberAvailable, numberUnavailable, observedGeneration. Returns undefined when it does not exist.
 */
export function reconcileDaemonSet(store: Store, ns: string, name: string, now: Date): DaemonSetReconcileResult | undefined {
  return store.transaction(() => {
    const ds = store.get<StoredDaemonSet>('DaemonSet', ns, name);
    if (!ds || ds.metadata.deletionTimestamp) return undefined;
    const spec = ds.spec;
    const hash = shortHash(spec.template);
    const podSpec: PodSpec = { ...spec.template.spec, tolerations: daemonPodTolerations(spec.template.spec) };
    const available = (p: Pod) => Boolean(p.spec.nodeName) && isPodAvailable(p, spec.minReadySeconds, now);
    const isNew = (p: Pod) => p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash;
    const created: string[] = [];
    const deleted: string[] = [];

    const remove = (p: Pod) => {
      deletePod(store, ns, p.metadata.name, now);
      deleted.push(p.metadata.name);
      recordEvent(store, ds, 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`, COMPONENT, now);
    };
    const create = (nodeName: string): Pod | undefined => {
      const pod = createPodFromTemplate(
        store,
        ds,
        spec.template,
        { labels: { [CONTROLLER_REVISION_HASH_LABEL]: hash }, annotations: { [PINNED_NODE_ANNOTATION]: nodeName }, spec: podSpec },
        COMPONENT,
        now,
      );
      if (pod) created.push(pod.metadata.name);
      return pod;
    };

    // Node name → its live daemon pods, oldest first.
    const byNode = new Map<string, Pod[]>();
    const owned = store
      .list<Pod & StoredObject>('Pod', { namespace: ns, ownerUid: ds.metadata.uid })
      .sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp) || a.metadata.name.localeCompare(b.metadata.name));
    for (const p of owned) {
      const nodeName = nodeOfPod(p);
      if (podFinished(p) || !nodeName) {
        remove(p); // a finished daemon is replaced; a pod for no node is not one of ours to keep
        continue;
      }
      if (p.metadata.deletionTimestamp) continue;
      const list = byNode.get(nodeName);
      if (list) list.push(p);
      else byNode.set(nodeName, [p]);
    }

    const nodes = store.list<Node & StoredObject>('Node');
    const fits = new Map(nodes.map((n) => [n.metadata.name, daemonNodeFit(n, podSpec)]));
    for (const [nodeName, pods] of byNode) {
      if (fits.get(nodeName)?.shouldContinue) continue;
      for (const p of pods) remove(p);
      byNode.delete(nodeName);
    }
    const desired = nodes.map((n) => n.metadata.name).filter((n) => fits.get(n)!.shouldRun);

    const strategy = spec.updateStrategy;
    const maxSurge = strategy.type === 'RollingUpdate' ? resolveIntOrPercent(strategy.rollingUpdate.maxSurge, desired.length, true) : 0;
    let maxUnavailable = strategy.type === 'RollingUpdate' ? resolveIntOrPercent(strategy.rollingUpdate.maxUnavailable, desired.length, true) : 0;
    if (strategy.type === 'RollingUpdate' && maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;

    // One pod per node. During a surge an old and a new pod may share a node for a while.
    for (const [nodeName, pods] of byNode) {
      if (pods.length < 2) continue;
      const fresh = pods.filter(isNew);
      const keep = fresh.find(available) ?? fresh[0] ?? pods.find(available) ?? pods[0]!;
      const surging = maxSurge > 0 && isNew(keep) && !available(keep);
      const old = surging ? pods.find((p) => !isNew(p) && available(p)) : undefined;
      for (const p of pods) if (p !== keep && p !== old) remove(p);
      byNode.set(nodeName, old ? [old, keep] : [keep]);
    }

    if (strategy.type === 'RollingUpdate') {
      if (maxSurge === 0) {
        let unavailable = 0;
        const freebies: Pod[] = [];
        const candidates: Pod[] = [];
        for (const nodeName of desired) {
          const pods = byNode.get(nodeName) ?? [];
          const pod = pods[0];
          if (!pod) unavailable++;
          else if (isNew(pod)) {
            if (!available(pod)) unavailable++;
          } else if (!available(pod)) freebies.push(pod);
          else candidates.push(pod);
        }
        const budget = Math.max(0, maxUnavailable - unavailable);
        for (const p of [...freebies, ...candidates.slice(0, budget)]) {
          remove(p);
          byNode.delete(nodeOfPod(p)!);
        }
      } else {
        let surging = desired.filter((n) => (byNode.get(n) ?? []).length > 1).length;
        for (const nodeName of desired) {
          const pods = byNode.get(nodeName) ?? [];
          const fresh = pods.find(isNew);
          const old = pods.find((p) => !isNew(p));
          if (!old) continue;
          if (fresh) {
            if (available(fresh)) {
              remove(old);
              byNode.set(nodeName, [fresh]);
            }
          } else if (!available(old)) {
            remove(old); // costs no availability: replace it now
            byNode.delete(nodeName);
          } else if (surging < maxSurge) {
            const pod = create(nodeName);
            byNode.set(nodeName, pod ? [old, pod] : [old]);
            surging++;
          }
        }
      }
    }

    for (const nodeName of desired) {
      if (byNode.has(nodeName)) continue;
      const pod = create(nodeName);
      if (pod) byNode.set(nodeName, [pod]);
    }

    return writeStatus(store, ds, desired, hash, now, { created, deleted });
  });
}

function writeStatus(
  store: Store,
  ds: StoredDaemonSet,
  desired: string[],
  hash: string,
  now: Date,
  done: { created: string[]; deleted: string[] },
): DaemonSetReconcileResult {
  const ns = ds.metadata.namespace;
  const bound = new Map<string, Pod[]>();
  for (const p of store.list<Pod & StoredObject>('Pod', { namespace: ns, ownerUid: ds.metadata.uid })) {
    if (!p.spec.nodeName || podFinished(p) || p.metadata.deletionTimestamp) continue;
    const list = bound.get(p.spec.nodeName);
    if (list) list.push(p);
    else bound.set(p.spec.nodeName, [p]);
  }
  const wanted = new Set(desired);
  const count = (test: (pods: Pod[]) => boolean) => desired.filter((n) => test(bound.get(n) ?? [])).length;
  const numberAvailable = count((pods) => pods.some((p) => isPodAvailable(p, ds.spec.minReadySeconds, now)));
  const status: DaemonSetStatus = {
    observedGeneration: ds.metadata.generation,
    desiredNumberScheduled: desired.length,
    currentNumberScheduled: count((pods) => pods.length > 0),
    numberMisscheduled: [...bound.keys()].filter((n) => !wanted.has(n)).length,
    numberReady: count((pods) => pods.some(isPodReady)),
    updatedNumberScheduled: count((pods) => pods.some((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash)),
    numberAvailable,
    numberUnavailable: desired.length - numberAvailable,
    conditions: ds.status?.conditions ?? [],
  };
  if (canonicalJson(status) !== canonicalJson(ds.status)) {
    store.mutate<DaemonSet>('DaemonSet', ns, ds.metadata.name, (cur) => {
      cur.status = status;
    });
  }
  return { status, ...done };
}
