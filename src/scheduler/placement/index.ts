/**
 * Placement: the scheduler's pure decision of which node a pod goes to. A {@link ClusterSnapshot}
 * holds nodes and per-node sums of what is bound; {@link schedule} filters and scores against it;
 * the caller binds with snapshot.addPod.
 */
export { ClusterSnapshot, DEFAULT_MAX_PODS, type NodeUsage, type SnapshotSummary } from './snapshot.js';
export {
  schedule,
  FilterReason,
  untoleratedTaintReason,
  DEFAULT_SCORE_WEIGHTS,
  type ScheduleOptions,
  type ScheduleResult,
  type ScoreWeights,
} from './schedule.js';
export {
  ownerKeyOf,
  pinnedNodeOf,
  localClaimsOf,
  PINNED_NODE_ANNOTATION,
  DEFAULT_SCORE_CPU_MILLIS,
  DEFAULT_SCORE_MEMORY_BYTES,
} from './pod-facts.js';
export { toleratesTaint, tolerated, UNSCHEDULABLE_TAINT } from './tolerations.js';
