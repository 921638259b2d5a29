/** Workload controllers of the scheduler: reconcile functions over the Store. */
export {
  reconcileDeployment,
  rolloutUndo,
  ownedReplicaSets,
  templateHash,
  type DeploymentReconcileResult,
  type StoredDeployment,
} from './deployment.js';
export {
  syncReplicaSetPods,
  replicaSetPods,
  revisionOf,
  REVISION_ANNOTATION,
  POD_TEMPLATE_HASH_LABEL,
  type ReplicaSet,
  type StoredReplicaSet,
  type ReplicaSetPods,
} from './replica-set.js';
export { reconcileNodeLoss, nodeLostSince, type EvictedPod } from './node-loss.js';
export { isPodReady, isPodAvailable, isPodInactive, podDeletionOrder } from './common.js';
export { reconcileJob, type JobReconcileResult, type StoredJob } from './job.js';
export { reconcileAll, type ReconcileAllOptions, type ReconcileAllResult } from './reconcile-all.js';
