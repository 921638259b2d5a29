/**
 * The endpoints controller: the EndpointSlices of every Service with a selector, from the pods it
 * selects, as Kubernetes' EndpointSlice controller writes them (read for semantics:
 * pkg/controller/endpointslice and staging/.../endpointslice/utils.go).
 *
 * - A pod is an endpoint when it has an IP and has not finished (phase Succeeded or Failed).
 * - Conditions: serving = the pod is Ready and its node is Ready; terminating = the pod has a
 *   deletionTimestamp; ready = publishNotReadyAddresses, or serving and not terminating. A NotReady
 *   node (or one the store no longer has) makes its pods not serving at once, without waiting for
 *   the node lifecycle controller to mark them.
 * - Ports are resolved per pod: a named targetPort is the container port of that name and protocol;
 *   a pod without it gets no such port. Pods with the same resolved ports share a slice, so a Service
 *   whose named port means one number everywhere (the common case) has exactly one slice. A Service
 *   without endpoints keeps one empty slice (no ports), as Kubernetes' placeholder.
 * - Slice names are `<service>-<hash of the resolved ports>`, stable across passes and restarts.
 *   Every slice carries the labels kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by
 *   (the agents select by the first), the Service's own labels, and a controller ownerReference to the
 *   Service's uid.
 * - Idempotent: a slice is written only when what it would hold differs from what is stored; slices
 *   of this controller that are no longer wanted (the Service deleted, its selector removed, a port
 *   set gone) are deleted. Slices other writers manage (another managed-by) are never touched.
 */
import { createHash } from 'node:crypto';
import {
  ENDPOINTS_CONTROLLER_NAME,
  MANAGED_BY_LABEL,
  SERVICE_NAME_LABEL,
  selectorRequirements,
  type Endpoint,
  type EndpointPort,
  type EndpointSlice,
  type Node,
  type Pod,
  type Service,
} from '../../api/index.js';
import type { Store, StoredObject } from '../store/index.js';
import { isPodReady } from './common.js';

/** A slice as the controller wants it (no uid or resourceVersion yet). */
export interface DesiredEndpointSlice {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    ownerReferences: { apiVersion: 'v1'; kind: 'Service'; name: string; uid: string; controller: true }[];
  };
  addressType: 'IPv4';
  endpoints: Endpoint[];
  ports: EndpointPort[];
}

/** Whether a node is Ready, by name (false for a node the store does not have). */
export type NodeReadiness = (nodeName: string) => boolean;

/** True when the node's Ready condition is True. */
export function isNodeReady(node: Pick<Node, 'status'> | undefined): boolean {
  return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The endpoint of a pod behind a Service, or undefined when it is not one (no IP, finished). */
export function podEndpoint(service: Pick<Service, 'metadata' | 'spec'>, pod: Pod, nodeReady: NodeReadiness): Endpoint | undefined {
  const ip = pod.status?.podIP;
  if (!ip) return undefined;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return undefined;
  const nodeName = pod.spec.nodeName || undefined;
  const serving = isPodReady(pod) && nodeName !== undefined && nodeReady(nodeName);
  const terminating = pod.metadata.deletionTimestamp !== undefined;
  const ready = service.spec.publishNotReadyAddresses || (serving && !terminating);
  const endpoint: Endpoint = {
    addresses: [ip],
    conditions: { ready, serving, terminating },
    targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
  };
  // A pod's own DNS name (<hostname>.<service>.<ns>.svc) needs hostname and subdomain = the Service.
  if (pod.spec.hostname && pod.spec.subdomain === service.metadata.name) endpoint.hostname = pod.spec.hostname;
  if (nodeName !== undefined) endpoint.nodeName = nodeName;
  return endpoint;
}

/** The Service's ports as this pod serves them: a named targetPort resolved in its containers. */
export function podPorts(service: Pick<Service, 'spec'>, pod: Pod): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of service.spec.ports) {
    let port: number | undefined;
    if (typeof sp.targetPort === 'number') port = sp.targetPort;
    else {
      for (const c of pod.spec.containers) {
        const found = c.ports?.find((p) => p.name === sp.targetPort && (p.protocol ?? 'TCP') === sp.protocol);
        if (found) {
          port = found.containerPort;
          break;
        }
      }
    }
    if (port !== undefined) out.push({ name: sp.name ?? '', protocol: sp.protocol, port });
  }
  return out;
}

/** Slice name suffixes by port-set JSON: most Services share a few port sets (bounded memo). */
const hashes = new Map<string, string>();

function shortHash(text: string): string {
  let h = hashes.get(text);
  if (h === undefined) {
    if (hashes.size >= 4096) hashes.clear();
    hashes.set(text, (h = createHash('sha256').update(text).digest('hex').slice(0, 8)));
  }
  return h;
}

/**
 * The slices a Service should have, given the pods of its namespace its selector matches (pure).
 * Empty for a Service without a selector (its endpoints are someone else's).
 */
export function desiredEndpointSlices(service: Pick<Service, 'metadata' | 'spec'>, pods: readonly Pod[], nodeReady: NodeReadiness): DesiredEndpointSlice[] {
  if (!service.spec.selector || Object.keys(service.spec.selector).length === 0) return [];
  const groups = new Map<string, { ports: EndpointPort[]; endpoints: Endpoint[] }>();
  const sorted = [...pods].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  for (const pod of sorted) {
    const endpoint = podEndpoint(service, pod, nodeReady);
    if (!endpoint) continue;
    const ports = podPorts(service, pod);
    const key = JSON.stringify(ports);
    const group = groups.get(key) ?? { ports, endpoints: [] };
    group.endpoints.push(endpoint);
    groups.set(key, group);
  }
  if (groups.size === 0) groups.set('[]', { ports: [], endpoints: [] });
  const labels = { ...service.metadata.labels, [SERVICE_NAME_LABEL]: service.metadata.name, [MANAGED_BY_LABEL]: ENDPOINTS_CONTROLLER_NAME };
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, g]) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${service.metadata.name}-${shortHash(key)}`,
        namespace: service.metadata.namespace,
        labels: { ...labels },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: service.metadata.name, uid: service.metadata.uid, controller: true }],
      },
      addressType: 'IPv4',
      endpoints: g.endpoints,
      ports: g.ports,
    }));
}

/** What the controller compares: everything it writes. */
function content(s: Pick<EndpointSlice, 'addressType' | 'endpoints' | 'ports'> & { metadata: { labels?: Record<string, string>; ownerReferences?: unknown } }): string {
  const labels = Object.fromEntries(Object.entries(s.metadata.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)));
  return JSON.stringify([s.addressType, s.endpoints, s.ports, labels, s.metadata.ownerReferences ?? []]);
}

/** What one reconcile of a Service's slices wrote. */
export interface EndpointsReconcileResult {
  created: number;
  updated: number;
  deleted: number;
}

/**
 * What a reconcile reads. {@link storeEndpointsSource} asks the store (a label-selector list parses
 * every pod of the namespace: fine for one Service, not for a pass over a thousand of them);
 * EndpointsIndex (endpoints-index.ts) answers from memory, kept current by the store's watch.
 */
export interface EndpointsSource {
  service(namespace: string, name: string): (StoredObject & Service) | undefined;
  /** The pods of the namespace whose labels hold every pair of selector (not empty). */
  selectedPods(namespace: string, selector: Readonly<Record<string, string>>): readonly Pod[];
  nodeReady: NodeReadiness;
  /** The slices this controller manages for the Service name (label kubernetes.io/service-name). */
  managedSlices(namespace: string, serviceName: string): readonly (StoredObject & EndpointSlice)[];
}

/** An {@link EndpointsSource} reading the store directly (node readiness is read once per node). */
export function storeEndpointsSource(store: Store): EndpointsSource {
  const nodes = new Map<string, boolean>();
  return {
    service: (namespace, name) => store.get<StoredObject & Service>('Service', namespace, name),
    selectedPods: (namespace, selector) => store.list<StoredObject & Pod>('Pod', { namespace, labelSelector: selectorRequirements({ matchLabels: { ...selector } }) }),
    nodeReady: (nodeName) => {
      let ready = nodes.get(nodeName);
      if (ready === undefined) nodes.set(nodeName, (ready = isNodeReady(store.get<StoredObject & Node>('Node', '', nodeName))));
      return ready;
    },
    managedSlices: (namespace, serviceName) =>
      store.list<StoredObject & EndpointSlice>('EndpointSlice', { namespace, labelSelector: selectorRequirements({ matchLabels: { [MANAGED_BY_LABEL]: ENDPOINTS_CONTROLLER_NAME, [SERVICE_NAME_LABEL]: serviceName } }) }),
  };
}

/**
 * Brings the slices of the Service namespace/name to what its pods say (in one transaction): creates,
 * updates and deletes only what differs. A Service that no longer exists loses its slices. Reads
 * from source (default: the store itself).
 */
export function reconcileServiceEndpoints(store: Store, namespace: string, name: string, source: EndpointsSource = storeEndpointsSource(store)): EndpointsReconcileResult {
  return store.transaction(() => {
    const result = { created: 0, updated: 0, deleted: 0 };
    const service = source.service(namespace, name);
    const selector = service?.spec.selector;
    const desired = service && selector && Object.keys(selector).length > 0 ? desiredEndpointSlices(service, source.selectedPods(namespace, selector), source.nodeReady) : [];
    const existing = new Map(source.managedSlices(namespace, name).map((s) => [s.metadata.name, s]));
    for (const want of desired) {
      const have = existing.get(want.metadata.name);
      existing.delete(want.metadata.name);
      if (!have) {
        store.create('EndpointSlice', want);
        result.created++;
      } else if (content(have) !== content(want)) {
        store.update('EndpointSlice', { ...have, ...want, metadata: { ...have.metadata, labels: want.metadata.labels, ownerReferences: want.metadata.ownerReferences } }, have.metadata.resourceVersion);
        result.updated++;
      }
    }
    for (const stale of existing.values()) {
      store.delete('EndpointSlice', namespace, stale.metadata.name);
      result.deleted++;
    }
    return result;
  });
}

/**
 * The Services whose slices a pass reconciles: every Service, and the owners of managed slices whose
 * Service is gone (so they are deleted). As namespace/name pairs.
 */
export function endpointsWork(store: Store): { namespace: string; name: string }[] {
  const seen = new Set<string>();
  const out: { namespace: string; name: string }[] = [];
  const add = (namespace: string, name: string) => {
    const key = `${namespace}/${name}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ namespace, name });
  };
  for (const s of store.list<StoredObject>('Service')) add(s.metadata.namespace, s.metadata.name);
  for (const slice of store.list<StoredObject>('EndpointSlice', { labelSelector: selectorRequirements({ matchLabels: { [MANAGED_BY_LABEL]: ENDPOINTS_CONTROLLER_NAME } }) })) {
    const owner = slice.metadata.labels[SERVICE_NAME_LABEL];
    if (owner) add(slice.metadata.namespace, owner);
  }
  return out;
}
