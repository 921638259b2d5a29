/** One pass of every controller over the whole store, for a periodic or watch-triggered loop. */
import type { Store, StoredObject } from '../store/index.js';
import { reconcileDeployment } from './deployment.js';
import { reconcileJob } from './job.js';
import { reconcileNodeLoss, type EvictedPod } from './node-loss.js';

/** Options of {@link reconcileAll}. */
export interface ReconcileAllOptions {
  /** How long a node may be NotReady before its pods are deleted (default 5 minutes, as Kubernetes). */
  nodeLossTimeoutMs?: number;
}

/** What {@link reconcileAll} did. */
export interface ReconcileAllResult {
  deployments: number;
  jobs: number;
  evicted: EvictedPod[];
}

/**
 * Runs node loss first (so replacements are made in the same pass), then every Deployment and Job,
 * and the cascading delete of ReplicaSets whose Deployment is gone. Idempotent: a second pass with
 * nothing changed in between writes nothing.
 */
export function reconcileAll(store: Store, now: Date, opts: ReconcileAllOptions = {}): ReconcileAllResult {
  const evicted = reconcileNodeLoss(store, now, opts.nodeLossTimeoutMs ?? 5 * 60_000);
  const deployments = new Set<string>();
  for (const d of store.list<StoredObject>('Deployment')) {
    reconcileDeployment(store, d.metadata.namespace, d.metadata.name, now);
    deployments.add(`${d.metadata.namespace}/${d.metadata.name}`);
  }
  // ReplicaSets owned by a Deployment that no longer exists: reconciling the absent name deletes them.
  for (const rs of store.list<StoredObject>('ReplicaSet')) {
    const owner = rs.metadata.ownerReferences?.find((o) => o.kind === 'Deployment');
    if (owner && !deployments.has(`${rs.metadata.namespace}/${owner.name}`)) reconcileDeployment(store, rs.metadata.namespace, owner.name, now);
  }
  const jobs = store.list<StoredObject>('Job');
  for (const j of jobs) reconcileJob(store, j.metadata.namespace, j.metadata.name, now);
  return { deployments: deployments.size, jobs: jobs.length, evicted };
}
