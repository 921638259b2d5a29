/** One pass of every controller over the whole store, for a periodic or watch-triggered loop. */
import { deletePod } from './pod-deletion.js';
import { isolated, type ControllerFailure } from './isolate.js';
import type { Store, StoredObject } from '../store/index.js';
import { reconcileDaemonSet } from './daemonset.js';
import { reconcileDeployment } from './deployment.js';
import { reconcileServiceEndpoints } from './endpoints.js';
import { EndpointsIndex } from './endpoints-index.js';
import { reconcileJob } from './job.js';
import { reconcileNodeLoss, type EvictedPod } from './node-loss.js';
import { forgetStatefulSetRevisions, reconcileStatefulSet } from './statefulset.js';

/** Options of {@link reconcileAll}. */
export interface ReconcileAllOptions {
  /** How long a node may be NotReady before its pods are deleted (default 5 minutes, as Kubernetes). */
  nodeLossTimeoutMs?: number;
  /**
   * Whether to look for lost nodes in this pass (default true), statelessly from the stored Ready
   * transition times. The scheduler daemon passes false and runs the NodeLifecycleController
   * (node-lifecycle.ts: grace from its own start, rate limits, zone disruption) instead.
   */
  nodeLoss?: boolean;
  /**
   * Whether the pass reconciles every Service's EndpointSlices (default true), from an index of the
   * store taken at that step. The scheduler daemon passes false: its EndpointsController
   * (endpoints-controller.ts) follows the store's watch and reconciles only what changed.
   */
  endpoints?: boolean;
}

/** What {@link reconcileAll} did. */
export interface ReconcileAllResult {
  deployments: number;
  jobs: number;
  statefulSets: number;
  daemonSets: number;
  evicted: EvictedPod[];
  /** Objects whose reconcile threw in this pass (the others were still reconciled); retried next pass. */
  failures: ControllerFailure[];
}

/** The StatefulSets and DaemonSets seen by the last pass, kept so a pass can tell which were deleted. */
const OWNERS_KEY = 'controllers/pod-owners';

interface OwnerRecord {
  kind: 'StatefulSet' | 'DaemonSet';
  namespace: string;
  name: string;
  uid: string;
}

/**
 * Cascading delete for StatefulSets and DaemonSets: the pods of a set that existed in the last pass
 * but is gone now are deleted (a StatefulSet's claims stay bound: its data is retained). The list of
 * sets is saved before the sets are reconciled, so even a scheduler killed in between never leaves
 * pods whose owner it has forgotten.
 */
function collectDeletedSets(store: Store, sets: OwnerRecord[], now: Date, failures: ControllerFailure[]): void {
  store.transaction(() => {
    let previous: OwnerRecord[] = [];
    try {
      previous = JSON.parse(store.getMeta(OWNERS_KEY) ?? '[]') as OwnerRecord[];
    } catch {
      // Unreadable: nothing to compare with; the list is rewritten below.
    }
    const alive = new Set(sets.map((s) => s.uid));
    for (const gone of previous.filter((s) => !alive.has(s.uid))) {
      for (const p of store.list('Pod', { namespace: gone.namespace, ownerUid: gone.uid })) {
        isolated(store, failures, `Pod ${gone.namespace}/${p.metadata.name} (owner ${gone.kind} ${gone.name} deleted)`, () => deletePod(store, gone.namespace, p.metadata.name, now));
      }
      if (gone.kind === 'StatefulSet' && !sets.some((s) => s.kind === 'StatefulSet' && s.namespace === gone.namespace && s.name === gone.name)) {
        forgetStatefulSetRevisions(store, gone.namespace, gone.name);
      }
    }
    const value = JSON.stringify(sets);
    if (store.getMeta(OWNERS_KEY) !== value) store.setMeta(OWNERS_KEY, value);
  });
}

/**
 * Runs node loss first (so replacements are made in the same pass), then every Deployment, Job,
 * StatefulSet and DaemonSet, then every Service's EndpointSlices, and the cascading delete of ReplicaSets whose Deployment is gone and
 * of pods whose StatefulSet or DaemonSet is gone. Idempotent: a second pass with nothing changed in
 * between writes nothing.
 */
export function reconcileAll(store: Store, now: Date, opts: ReconcileAllOptions = {}): ReconcileAllResult {
  const steps = reconcileAllSteps(store, now, opts);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * {@link reconcileAll} with pauses: every sliceMs of work it yields to the event loop (setImmediate),
 * so a pass over thousands of objects (a 1 MiB manifest is 1,700 Deployments: seconds of work) does
 * not hold requests and heartbeats for all of it. Each object is reconciled in its own transaction
 * from the store's current state, so writes that land in a pause are seen by the objects after it
 * and by the next pass. Returns undefined, having stopped, when stopped() says so at a pause.
 */
export async function reconcileAllSliced(store: Store, now: Date, opts: ReconcileAllOptions & { sliceMs?: number; stopped?: () => boolean } = {}): Promise<ReconcileAllResult | undefined> {
  const steps = reconcileAllSteps(store, now, opts);
  const sliceMs = opts.sliceMs ?? 20;
  let sliceStart = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise((resolve) => setImmediate(resolve));
      if (opts.stopped?.()) return undefined;
      sliceStart = performance.now();
    }
  }
}

/** The pass of {@link reconcileAll}, one object per step. */
function* reconcileAllSteps(store: Store, now: Date, opts: ReconcileAllOptions): Generator<void, ReconcileAllResult> {
  const failures: ControllerFailure[] = [];
  const evicted = opts.nodeLoss === false ? [] : (isolated(store, failures, 'node loss', () => reconcileNodeLoss(store, now, opts.nodeLossTimeoutMs ?? 5 * 60_000)) ?? []);
  const deployments = new Set<string>();
  // Each object in its own try: one whose reconcile throws is recorded and the others still run.
  const each = (kind: string, namespace: string, name: string, fn: () => unknown) => isolated(store, failures, `${kind} ${namespace}/${name}`, fn);
  for (const d of store.list<StoredObject>('Deployment')) {
    each('Deployment', d.metadata.namespace, d.metadata.name, () => reconcileDeployment(store, d.metadata.namespace, d.metadata.name, now));
    deployments.add(`${d.metadata.namespace}/${d.metadata.name}`);
    yield;
  }
  // ReplicaSets owned by a Deployment that no longer exists: reconciling the absent name deletes them.
  for (const rs of store.list<StoredObject>('ReplicaSet')) {
    const owner = rs.metadata.ownerReferences?.find((o) => o.kind === 'Deployment');
    if (owner && !deployments.has(`${rs.metadata.namespace}/${owner.name}`)) {
      each('Deployment', rs.metadata.namespace, owner.name, () => reconcileDeployment(store, rs.metadata.namespace, owner.name, now));
      yield;
    }
  }
  const jobs = store.list<StoredObject>('Job');
  for (const j of jobs) {
    each('Job', j.metadata.namespace, j.metadata.name, () => reconcileJob(store, j.metadata.namespace, j.metadata.name, now));
    yield;
  }

  const record =
    (kind: OwnerRecord['kind']) =>
    (o: StoredObject): OwnerRecord => ({ kind, namespace: o.metadata.namespace, name: o.metadata.name, uid: o.metadata.uid });
  const statefulSets = store.list<StoredObject>('StatefulSet');
  const daemonSets = store.list<StoredObject>('DaemonSet');
  isolated(store, failures, 'deleted StatefulSets and DaemonSets', () =>
    collectDeletedSets(store, [...statefulSets.map(record('StatefulSet')), ...daemonSets.map(record('DaemonSet'))], now, failures),
  );
  for (const s of statefulSets) {
    each('StatefulSet', s.metadata.namespace, s.metadata.name, () => reconcileStatefulSet(store, s.metadata.namespace, s.metadata.name, now));
    yield;
  }
  for (const d of daemonSets) {
    each('DaemonSet', d.metadata.namespace, d.metadata.name, () => reconcileDaemonSet(store, d.metadata.namespace, d.metadata.name, now));
    yield;
  }
  // Last: the slices see the pods the workload controllers made or deleted in this pass.
  if (opts.endpoints !== false) {
    const index = EndpointsIndex.load(store);
    for (const s of index.work()) {
      each('Service', s.namespace, s.name, () => reconcileServiceEndpoints(store, s.namespace, s.name, index));
      yield;
    }
  }
  return { deployments: deployments.size, jobs: jobs.length, statefulSets: statefulSets.length, daemonSets: daemonSets.length, evicted, failures };
}
