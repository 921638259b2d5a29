/**
 * The Kubernetes Pod v1 subset corelet understands, in Kubernetes' own field names (what users write
 * in YAML). Decoding and validation live in pod-decode.ts; quantities in quantity.ts.
 */

export interface ObjectMeta {
  name: string;
  /** Prefix the store completes into a unique name (controllers' pods). */
  generateName?: string;
  namespace: string;
  uid: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  creationTimestamp?: string;
  /** When a graceful deletion removes the object at the latest (set by DELETE of a pod bound to a node). */
  deletionTimestamp?: string;
  /** The grace period of that deletion, in seconds. */
  deletionGracePeriodSeconds?: number;
  generation?: number;
  resourceVersion?: string;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
}

export interface EnvVar {
  name: string;
  value?: string;
  /** Only fieldRef to metadata.name, metadata.namespace, metadata.uid, status.podIP, spec.nodeName, status.hostIP. */
  valueFrom?: { fieldRef: { fieldPath: string } };
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  hostPort?: number;
  hostIP?: string;
  protocol: 'TCP' | 'UDP' | 'SCTP';
}

/** requests/limits keyed by resource name ("cpu", "memory"), values as written ("500m", "128Mi"). */
export interface ResourceRequirements {
  requests: Record<string, string>;
  limits: Record<string, string>;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}

export interface ExecAction {
  command: string[];
}
export interface HTTPGetAction {
  path: string;
  /** A number, or the name of a container port. */
  port: number | string;
  host?: string;
  scheme: 'HTTP' | 'HTTPS';
  httpHeaders?: { name: string; value: string }[];
}
export interface TCPSocketAction {
  port: number | string;
  host?: string;
}

export interface Probe {
  exec?: ExecAction;
  httpGet?: HTTPGetAction;
  tcpSocket?: TCPSocketAction;
  initialDelaySeconds: number;
  timeoutSeconds: number;
  periodSeconds: number;
  successThreshold: number;
  failureThreshold: number;
  terminationGracePeriodSeconds?: number;
}

export interface LifecycleHandler {
  exec?: ExecAction;
  httpGet?: HTTPGetAction;
  tcpSocket?: TCPSocketAction;
  sleep?: { seconds: number };
}

export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: SeccompProfile;
}

/** A seccomp profile choice (Localhost profiles are not supported yet). */
export interface SeccompProfile {
  type: 'RuntimeDefault' | 'Unconfined';
}

export interface Container {
  name: string;
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  command?: string[];
  args?: string[];
  workingDir?: string;
  env: EnvVar[];
  ports: ContainerPort[];
  resources: ResourceRequirements;
  volumeMounts: VolumeMount[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: LifecycleHandler; postStart?: LifecycleHandler };
  securityContext?: SecurityContext;
  stdin?: boolean;
  tty?: boolean;
}

export interface Volume {
  name: string;
  emptyDir?: { medium?: '' | 'Memory'; sizeLimit?: string };
  hostPath?: { path: string; type?: string };
  /** Set by the scheduler for StatefulSet ordinals: a directory on the node that outlives the pod. */
  persistentLocal?: { claimName: string };
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: '' | 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

export interface PodSpec {
  containers: Container[];
  initContainers: Container[];
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  terminationGracePeriodSeconds: number;
  hostNetwork: boolean;
  shareProcessNamespace: boolean;
  hostname?: string;
  subdomain?: string;
  dnsPolicy: 'ClusterFirst' | 'Default' | 'None' | 'ClusterFirstWithHostNet';
  dnsConfig?: { nameservers?: string[]; searches?: string[]; options?: { name: string; value?: string }[] };
  volumes: Volume[];
  nodeSelector: Record<string, string>;
  nodeName?: string;
  tolerations: Toleration[];
  securityContext?: { runAsUser?: number; runAsGroup?: number; runAsNonRoot?: boolean; supplementalGroups?: number[]; fsGroup?: number; sysctls?: { name: string; value: string }[]; seccompProfile?: SeccompProfile };
  priority?: number;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface PodCondition {
  type: 'PodScheduled' | 'Initialized' | 'ContainersReady' | 'Ready';
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface ContainerStateWaiting {
  reason: string;
  message?: string;
}
export interface ContainerStateRunning {
  startedAt: string;
}
export interface ContainerStateTerminated {
  exitCode: number;
  reason: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  containerID?: string;
}
export interface ContainerState {
  waiting?: ContainerStateWaiting;
  running?: ContainerStateRunning;
  terminated?: ContainerStateTerminated;
}

export interface ContainerStatus {
  name: string;
  state: ContainerState;
  lastState: ContainerState;
  ready: boolean;
  started?: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
}

export interface PodStatus {
  phase: PodPhase;
  conditions: PodCondition[];
  message?: string;
  reason?: string;
  hostIP?: string;
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  initContainerStatuses: ContainerStatus[];
  containerStatuses: ContainerStatus[];
  qosClass?: 'Guaranteed' | 'Burstable' | 'BestEffort';
}

export interface Pod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: ObjectMeta;
  spec: PodSpec;
  status?: PodStatus;
}

/** An event about an object, as `kubectl get events` shows them. */
export interface ObjectEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** "Pod/namespace/name" (or "Node/name"). */
  involvedObject: { kind: string; namespace?: string; name: string; uid?: string };
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  source?: { component: string; host?: string };
}

/** ObjectMeta whose uid may still be unassigned. */
export type DeclaredMeta = Omit<ObjectMeta, 'uid'> & { uid?: string };
