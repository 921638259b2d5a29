/**
 * The workload kinds corelet accepts besides Pod (Deployment, StatefulSet, Job, DaemonSet), in
 * Kubernetes' own shapes and field names, restricted to what corelet's controllers act on. Decoding,
 * validation and defaulting live in workload-decode.ts.
 */
import type { RbacObject } from './rbac-types.js';
import type { DeclaredMeta, ObjectMeta, Pod, PodSpec } from './pod-types.js';
import type { EndpointSlice, Service } from './service-types.js';
import type { Namespace } from './namespace.js';

/**
 * Kubernetes' IntOrString as rollout fields use it: a count, or a percentage of the desired replicas
 * written as a string ("25%"). Turn it into a count with resolveIntOrPercent.
 */
export type IntOrPercent = number | string;

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  /** Non-empty for In and NotIn, absent for Exists and DoesNotExist. */
  values?: string[];
}

/** Which pods a workload owns: every matchLabels pair and every expression must hold (AND). */
export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/** The pods a workload creates: labels, annotations and a PodSpec (the template's name is ignored). */
export interface PodTemplateSpec {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: PodSpec;
}

/** A status condition of a workload, as `kubectl describe` lists them. */
export interface WorkloadCondition<T extends string = string> {
  type: T;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

// ---- Deployment (apps/v1) ----

/** RollingUpdate replaces pods a few at a time (defaults 25% / 25%); Recreate stops all old ones first. */
export type DeploymentStrategy =
  | { type: 'RollingUpdate'; rollingUpdate: { maxSurge: IntOrPercent; maxUnavailable: IntOrPercent } }
  | { type: 'Recreate' };

export interface DeploymentSpec {
  /** Default 1. */
  replicas: number;
  selector: LabelSelector;
  template: PodTemplateSpec;
  strategy: DeploymentStrategy;
  /** Seconds a new pod must be Ready before it counts as available. Default 0. */
  minReadySeconds: number;
  /** Old revisions (ReplicaSets) kept for rollback. Default 10. */
  revisionHistoryLimit: number;
  /** Seconds without progress before the Progressing condition turns False. Default 600. */
  progressDeadlineSeconds: number;
  /** A paused Deployment does not roll out template changes. Default false. */
  paused: boolean;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  unavailableReplicas: number;
  conditions: WorkloadCondition<'Available' | 'Progressing' | 'ReplicaFailure'>[];
  collisionCount?: number;
}

export interface Deployment {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: ObjectMeta;
  spec: DeploymentSpec;
  status?: DeploymentStatus;
}

// ---- StatefulSet (apps/v1) ----

export type AccessMode = 'ReadWriteOnce' | 'ReadOnlyMany' | 'ReadWriteMany' | 'ReadWriteOncePod';

/**
 * A volumeClaimTemplates entry (a PersistentVolumeClaim shape). Each pod ordinal gets its own claim
 * (Kubernetes names it "<claim>-<statefulset>-<ordinal>"), which corelet backs with a node-local
 * directory; containers mount it under the claim template's name. accessModes defaults to [ReadWriteOnce].
 */
export interface PersistentVolumeClaimTemplate {
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: {
    accessModes: AccessMode[];
    /** The requested size as written ("1Gi"); must be more than zero. */
    resources: { requests: { storage: string } };
    storageClassName?: string;
  };
}

/** RollingUpdate replaces pods from the highest ordinal down to `partition`; OnDelete waits for deletions. */
export type StatefulSetUpdateStrategy = { type: 'RollingUpdate'; rollingUpdate: { partition: number } } | { type: 'OnDelete' };

export interface StatefulSetSpec {
  /** Default 1. */
  replicas: number;
  selector: LabelSelector;
  /** The headless service that gives pods "<pod>.<serviceName>" names; it becomes their subdomain. */
  serviceName?: string;
  template: PodTemplateSpec;
  volumeClaimTemplates: PersistentVolumeClaimTemplate[];
  /** OrderedReady (default) starts ordinal n+1 only once n is Ready; Parallel starts all at once. */
  podManagementPolicy: 'OrderedReady' | 'Parallel';
  updateStrategy: StatefulSetUpdateStrategy;
  /** Default 10. */
  revisionHistoryLimit: number;
  /** Default 0. */
  minReadySeconds: number;
  /** Whether claim directories outlive the StatefulSet and scale-downs. Both default Retain. */
  persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain' | 'Delete'; whenScaled: 'Retain' | 'Delete' };
}

export interface StatefulSetStatus {
  observedGeneration?: number;
  replicas: number;
  readyReplicas: number;
  currentReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
  currentRevision?: string;
  updateRevision?: string;
  collisionCount?: number;
  conditions: WorkloadCondition[];
}

export interface StatefulSet {
  apiVersion: 'apps/v1';
  kind: 'StatefulSet';
  metadata: ObjectMeta;
  spec: StatefulSetSpec;
  status?: StatefulSetStatus;
}

// ---- Job (batch/v1) ----

export interface JobSpec {
  /**
   * Successful pods needed. As in Kubernetes, it defaults to 1 only when parallelism is unset too;
   * absent means "a work queue": done when any pod succeeds and none are running.
   */
  completions?: number;
  /** Pods running at once. Default 1. */
  parallelism: number;
  /** Pod failures (retries) before the Job fails. Default 6. */
  backoffLimit: number;
  activeDeadlineSeconds?: number;
  ttlSecondsAfterFinished?: number;
  /** A suspended Job runs no pods. Default false. */
  suspend: boolean;
  /** When true, `selector` is the user's; otherwise it is generated (see withJobSelector). */
  manualSelector?: boolean;
  /** Absent in a decoded manifest unless manualSelector: generated once the Job's uid is known. */
  selector?: LabelSelector;
  /** restartPolicy is OnFailure or Never. */
  template: PodTemplateSpec;
}

export interface JobStatus {
  active: number;
  succeeded: number;
  failed: number;
  ready?: number;
  startTime?: string;
  completionTime?: string;
  conditions: (WorkloadCondition<'Complete' | 'Failed' | 'Suspended' | 'FailureTarget' | 'SuccessCriteriaMet'> & { lastProbeTime?: string })[];
}

export interface Job {
  apiVersion: 'batch/v1';
  kind: 'Job';
  metadata: ObjectMeta;
  spec: JobSpec;
  status?: JobStatus;
}

// ---- DaemonSet (apps/v1) ----

/** RollingUpdate defaults to maxUnavailable 1, maxSurge 0; exactly one of them is non-zero. */
export type DaemonSetUpdateStrategy =
  | { type: 'RollingUpdate'; rollingUpdate: { maxUnavailable: IntOrPercent; maxSurge: IntOrPercent } }
  | { type: 'OnDelete' };

export interface DaemonSetSpec {
  selector: LabelSelector;
  template: PodTemplateSpec;
  updateStrategy: DaemonSetUpdateStrategy;
  /** Default 0. */
  minReadySeconds: number;
  /** Default 10. */
  revisionHistoryLimit: number;
}

export interface DaemonSetStatus {
  observedGeneration?: number;
  currentNumberScheduled: number;
  numberMisscheduled: number;
  desiredNumberScheduled: number;
  numberReady: number;
  updatedNumberScheduled: number;
  numberAvailable: number;
  numberUnavailable: number;
  collisionCount?: number;
  conditions: WorkloadCondition[];
}

export interface DaemonSet {
  apiVersion: 'apps/v1';
  kind: 'DaemonSet';
  metadata: ObjectMeta;
  spec: DaemonSetSpec;
  status?: DaemonSetStatus;
}

// ---- What a manifest declares ----

/** The kinds that own pods through a template. */
export type Workload = Deployment | StatefulSet | Job | DaemonSet;

/**
 * T as a manifest declares it: metadata.uid is there only when the manifest gave one, because the
 * store assigns uids (a uid derived from the file name would break re-applying from another file).
 * Status is never part of a declaration.
 */
export type Declared<T extends { metadata: ObjectMeta }> = Omit<T, 'metadata' | 'status'> & { metadata: DeclaredMeta };

export type { DeclaredMeta } from './pod-types.js';

/** One object of a manifest, discriminated on `kind`. */
export type AnyObject = Declared<Pod> | Declared<Deployment> | Declared<StatefulSet> | Declared<Job> | Declared<DaemonSet> | Declared<Namespace> | Declared<RbacObject> | Declared<Service> | Declared<EndpointSlice>;

/** The kinds `corelet apply -f` accepts (plus v1 List of them). */
export type ObjectKind = AnyObject['kind'];
