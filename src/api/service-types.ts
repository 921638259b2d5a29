/**
 * Service (v1) and EndpointSlice (discovery.k8s.io/v1): the subset corelet serves, in Kubernetes'
 * own field names. Decoding and validation live in service-decode.ts; cluster IPs and node ports are
 * allocated by the scheduler when a Service is written; EndpointSlices are written by the scheduler's
 * endpoints controller from the pods a Service selects.
 */
import type { ObjectMeta } from './pod-types.js';

/** The Service types corelet supports (LoadBalancer and ExternalName are not). */
export type ServiceType = 'ClusterIP' | 'NodePort';

/** The protocols a Service port may carry. */
export type ServiceProtocol = 'TCP' | 'UDP';

/** One port of a Service. */
export interface ServicePort {
  /** Required (an IANA service name) when the Service has more than one port. */
  name?: string;
  protocol: ServiceProtocol;
  /** The port the Service answers on (its cluster IP, 1..65535). */
  port: number;
  /** The pods' port: a number, or the name of a container port resolved per pod. Defaults to `port`. */
  targetPort: number | string;
  /** NodePort Services only: the port on every node (30000..32767 by default), allocated when absent. */
  nodePort?: number;
}

/** The value of spec.clusterIP of a headless Service. */
export const CLUSTER_IP_NONE = 'None';

export interface ServiceSpec {
  type: ServiceType;
  /** Pods with all these labels back the Service; absent: endpoints are managed by hand. */
  selector?: Record<string, string>;
  ports: ServicePort[];
  /** An IPv4 address from the service range, or "None" (headless). Allocated when absent. */
  clusterIP?: string;
  /** [clusterIP] once allocated (as Kubernetes keeps both). */
  clusterIPs?: string[];
  sessionAffinity: 'None' | 'ClientIP';
  /** ClientIP affinity only: timeoutSeconds (1..86400, default 10800). */
  sessionAffinityConfig?: { clientIP: { timeoutSeconds: number } };
  /** When true, not-ready pods are published as endpoints (ready: true) too: DNS for StatefulSet peers. */
  publishNotReadyAddresses: boolean;
}

export interface Service {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: ObjectMeta;
  spec: ServiceSpec;
  status?: { loadBalancer: Record<string, never> };
}

/** The Service's default ClientIP affinity timeout (3 hours), as in Kubernetes. */
export const DEFAULT_CLIENT_IP_TIMEOUT_SECONDS = 10800;
/** The longest ClientIP affinity timeout Kubernetes accepts (one day). */
export const MAX_CLIENT_IP_TIMEOUT_SECONDS = 86400;

/** True for a headless Service (`clusterIP: None`): DNS gives its endpoints, no virtual IP. */
export function isHeadless(spec: Pick<ServiceSpec, 'clusterIP'>): boolean {
  return spec.clusterIP === CLUSTER_IP_NONE;
}

/** The label an EndpointSlice carries naming its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** The label naming who manages an EndpointSlice; the controller owns slices with its own value only. */
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
/** The value of {@link MANAGED_BY_LABEL} on the slices corelet's endpoints controller writes. */
export const ENDPOINTS_CONTROLLER_NAME = 'endpointslice-controller.k8s.io';

/** An endpoint's conditions, as the EndpointSlice API defines them. */
export interface EndpointConditions {
  /** Serving and not terminating (with publishNotReadyAddresses: always true). */
  ready: boolean;
  /** The pod is Ready (regardless of termination) and its node is not NotReady. */
  serving: boolean;
  /** The pod is being deleted (has a deletionTimestamp). */
  terminating: boolean;
}

/** One pod behind a Service. */
export interface Endpoint {
  /** The pod's IP (one address: corelet pods are IPv4 only). */
  addresses: string[];
  conditions: EndpointConditions;
  /** The pod's hostname when it sets spec.hostname (with a subdomain): the DNS name of a StatefulSet pod. */
  hostname?: string;
  nodeName?: string;
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
}

/** One port of a slice: the Service port's name and protocol, the target port resolved for these pods. */
export interface EndpointPort {
  /** The Service port's name ('' when it has none). */
  name: string;
  protocol: ServiceProtocol;
  port: number;
}

export interface EndpointSlice {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  metadata: ObjectMeta;
  addressType: 'IPv4';
  endpoints: Endpoint[];
  ports: EndpointPort[];
}
