/** Workload controllers of the scheduler: reconcile functions over the Store. */
export {
  reconcileDeployment,
  rolloutUndo,
  ownedReplicaSets,
  templateHash,
  copiedAnnotations,
  REVISION_HISTORY_ANNOTATION,
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
export { isPodReady, isPodAvailable, isPodInactive, podDeletionOrder, CONTROLLER_REVISION_HASH_LABEL } from './common.js';
export {
  reconcileStatefulSet,
  statefulSetClaimName,
  statefulSetRevision,
  ordinalOf,
  forgetStatefulSetRevisions,
  STATEFULSET_POD_NAME_LABEL,
  POD_INDEX_LABEL,
  type StatefulSetReconcileResult,
  type StoredStatefulSet,
} from './statefulset.js';
export {
  reconcileDaemonSet,
  daemonPodTolerations,
  daemonNodeFit,
  type DaemonNodeFit,
  type DaemonSetReconcileResult,
  type StoredDaemonSet,
} from './daemonset.js';
export { claimNode, bindClaim, releaseClaim } from './claims.js';
export { reconcileJob, type JobReconcileResult, type StoredJob } from './job.js';
export { reconcileAll, reconcileAllSliced, type ReconcileAllOptions, type ReconcileAllResult } from './reconcile-all.js';
export { evictPodsFromNode, lostNodeTaint } from './node-loss.js';
export {
  NodeLifecycleController,
  NODE_LIFECYCLE_DEFAULTS,
  ZONE_LABEL,
  computeZoneState,
  markNodeStatusUnknown,
  type NodeLifecycleConfig,
  type NodeLifecyclePassResult,
  type ZoneState,
} from './node-lifecycle.js';
export { deletePod, confirmPodTerminated, collectOrphanedTerminatingPods, isTerminating, DEFAULT_TERMINATION_GRACE_SECONDS, type PodDeletion } from './pod-deletion.js';
export { isolated, type ControllerFailure } from './isolate.js';
export {
  reconcileServiceEndpoints,
  storeEndpointsSource,
  desiredEndpointSlices,
  endpointsWork,
  podEndpoint,
  podPorts,
  isNodeReady,
  type DesiredEndpointSlice,
  type EndpointsReconcileResult,
  type NodeReadiness,
  type EndpointsSource,
} from './endpoints.js';
export { EndpointsIndex } from './endpoints-index.js';
export { EndpointsController, type EndpointsControllerOptions, type EndpointsPassResult, type EndpointsTimer } from './endpoints-controller.js';
