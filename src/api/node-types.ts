/**
 * The Kubernetes Node v1 subset corelet uses, in Kubernetes' own field names: what the agent reports
 * when it registers and heartbeats, what the scheduler places pods against, and what
 * `corelet get nodes` / `describe node` print.
 */
import type { ObjectMeta } from './pod-types.js';

/** What a taint does to pods that do not tolerate it. */
/**
 * The Ready reason a node gets when its agent stopped reporting (as Kubernetes' node lifecycle
 * controller writes it): set by the scheduler's stale-node check, read by node-loss eviction.
 */
export const NODE_STATUS_UNKNOWN = 'NodeStatusUnknown';

export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

/**
 * A node's "keep away unless tolerated" mark. NoSchedule and NoExecute keep new pods off the node;
 * PreferNoSchedule is only a preference.
 */
export interface Taint {
  key: string;
  value?: string;
  effect: TaintEffect;
  /** When a NoExecute taint was added (RFC 3339). */
  timeAdded?: string;
}

/** Node metadata: cluster-scoped, so no namespace and no owners. */
export type NodeMeta = Omit<ObjectMeta, 'namespace' | 'ownerReferences'>;

export interface NodeSpec {
  taints: Taint[];
  /** Cordoned: no new pods (unless they tolerate node.kubernetes.io/unschedulable:NoSchedule). */
  unschedulable: boolean;
  podCIDR?: string;
  podCIDRs?: string[];
}

export type NodeConditionType = 'Ready' | 'MemoryPressure' | 'DiskPressure' | 'PIDPressure' | 'NetworkUnavailable';

export interface NodeCondition {
  type: NodeConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  /** The last heartbeat that reported this condition (RFC 3339). */
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

export interface NodeAddress {
  type: 'InternalIP' | 'ExternalIP' | 'Hostname' | 'InternalDNS' | 'ExternalDNS';
  address: string;
}

/** What `kubectl get nodes -o wide` shows about the machine and its software. */
export interface NodeSystemInfo {
  machineID?: string;
  systemUUID?: string;
  bootID?: string;
  kernelVersion: string;
  osImage: string;
  operatingSystem: string;
  architecture: string;
  /** "<runtime name>://<version>", e.g. "corelet://0.1.0" or "containerd://1.7.2". */
  containerRuntimeVersion: string;
  /** The node agent's version (corelet reports its own). */
  kubeletVersion: string;
}

export interface NodeStatus {
  /** Resource name ("cpu", "memory", "pods", "ephemeral-storage") → quantity as written ("4", "8Gi", "110"). */
  capacity: Record<string, string>;
  /** capacity minus reservations and eviction thresholds: what the scheduler may fill. Same keys. */
  allocatable: Record<string, string>;
  conditions: NodeCondition[];
  addresses: NodeAddress[];
  /** Where the node's agent serves (the kubelet's port: exec, attach, port-forward). */
  daemonEndpoints?: { kubeletEndpoint: { Port: number } };
  nodeInfo: NodeSystemInfo;
}

export interface Node {
  apiVersion: 'v1';
  kind: 'Node';
  metadata: NodeMeta;
  spec: NodeSpec;
  status: NodeStatus;
}
