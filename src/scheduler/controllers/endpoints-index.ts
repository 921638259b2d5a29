/**
 * The endpoints controller's in-memory view of the store (an informer cache, as Kubernetes'
 * EndpointSlice controller reads from): Services, the managed EndpointSlices, node readiness, and of
 * every pod only what an endpoint is made of. Built once from the store, then kept current by
 * {@link EndpointsIndex.apply} with each committed change (the store's watch delivers them in commit
 * order), which also says which Services a change concerns:
 *
 * - a pod: the Services of its namespace whose selector matches its old or new labels, and only when
 *   something an endpoint is made of changed (IP, phase, Ready, deletionTimestamp, node, labels,
 *   hostname/subdomain, container ports), not on every status report;
 * - a node: when its readiness flipped (or it came or went), the Services selecting its pods;
 * - a Service: itself; a managed slice: its Service (the controller ignores its own writes).
 *
 * Lookups are indexed: a pod's Services by the selector pairs its labels hold, a selector's pods by
 * its rarest pair, so a change costs about what it touches, not the number of Services or pods.
 */
import { ENDPOINTS_CONTROLLER_NAME, MANAGED_BY_LABEL, SERVICE_NAME_LABEL, selectorRequirements, type EndpointSlice, type Node, type Pod, type Service } from '../../api/index.js';
import type { Store, StoredObject, WatchChange } from '../store/index.js';
import { isNodeReady, type EndpointsSource } from './endpoints.js';

type StoredService = StoredObject & Service;
type StoredSlice = StoredObject & EndpointSlice;

interface IndexedPod {
  /** The pod reduced to what endpoints read (metadata, node, hostname, ports, IP, phase, Ready). */
  pod: Pod;
  /** Its JSON: equal fingerprints make equal endpoints. */
  fingerprint: string;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;
const pairKey = (namespace: string, k: string, v: string) => `${namespace}\u0000${k}\u0000${v}`;

function isManaged(slice: { metadata: { labels?: Record<string, string> } }): boolean {
  return slice.metadata.labels?.[MANAGED_BY_LABEL] === ENDPOINTS_CONTROLLER_NAME;
}

/** The part of a pod endpoints are made of, as a Pod (frozen inputs are copied, not kept). */
function slimPod(p: Pod): IndexedPod {
  const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.metadata.name,
      namespace: p.metadata.namespace,
      uid: p.metadata.uid,
      labels: p.metadata.labels ?? {},
      annotations: {},
      ...(p.metadata.deletionTimestamp !== undefined ? { deletionTimestamp: p.metadata.deletionTimestamp } : {}),
    },
    spec: {
      ...(p.spec.nodeName ? { nodeName: p.spec.nodeName } : {}),
      ...(p.spec.hostname ? { hostname: p.spec.hostname } : {}),
      ...(p.spec.subdomain ? { subdomain: p.spec.subdomain } : {}),
      containers: p.spec.containers.map((c) => ({ name: c.name, image: '', ...(c.ports?.length ? { ports: c.ports } : {}) })),
    },
    status: {
      ...(p.status?.phase ? { phase: p.status.phase } : {}),
      ...(p.status?.podIP ? { podIP: p.status.podIP } : {}),
      conditions: ready ? [{ type: 'Ready', status: ready.status }] : [],
    },
  } as unknown as Pod;
  return { pod, fingerprint: JSON.stringify(pod) };
}

function addTo<K, V>(map: Map<K, Set<V>>, k: K, v: V): void {
  let set = map.get(k);
  if (!set) map.set(k, (set = new Set()));
  set.add(v);
}

function removeFrom<K, V>(map: Map<K, Set<V>>, k: K, v: V): void {
  const set = map.get(k);
  if (!set) return;
  set.delete(v);
  if (set.size === 0) map.delete(k);
}

function selectorPairs(service: Service): [string, string][] {
  return Object.entries(service.spec.selector ?? {});
}

/** See the module comment. */
export class EndpointsIndex implements EndpointsSource {
  /** Pods by namespace/name. */
  private readonly pods = new Map<string, IndexedPod>();
  /** Pod names by namespace + label pair. */
  private readonly podsByPair = new Map<string, Set<string>>();
  /** Pod keys (namespace/name) by node name. */
  private readonly podsByNode = new Map<string, Set<string>>();
  private readonly services = new Map<string, StoredService>();
  /** Service names by namespace + one of their selector pairs. */
  private readonly servicesByPair = new Map<string, Set<string>>();
  /** Managed slices by their Service's key, then slice name. */
  private readonly slices = new Map<string, Map<string, StoredSlice>>();
  /** The Service key each managed slice (namespace/slice name) was filed under. */
  private readonly sliceOwner = new Map<string, string>();
  private readonly nodes = new Map<string, boolean>();

  /** The index of what the store holds now. */
  static load(store: Store): EndpointsIndex {
    const index = new EndpointsIndex();
    for (const n of store.list<StoredObject & Node>('Node')) index.nodes.set(n.metadata.name, isNodeReady(n));
    for (const s of store.list<StoredService>('Service')) index.putService(s);
    for (const p of store.list<StoredObject & Pod>('Pod')) index.putPod(slimPod(p));
    const managed = selectorRequirements({ matchLabels: { [MANAGED_BY_LABEL]: ENDPOINTS_CONTROLLER_NAME } });
    for (const s of store.list<StoredSlice>('EndpointSlice', { labelSelector: managed })) index.putSlice(s);
    return index;
  }

  readonly nodeReady = (nodeName: string): boolean => this.nodes.get(nodeName) ?? false;

  service(namespace: string, name: string): StoredService | undefined {
    return this.services.get(key(namespace, name));
  }

  selectedPods(namespace: string, selector: Readonly<Record<string, string>>): Pod[] {
    const pairs = Object.entries(selector);
    if (pairs.length === 0) return [];
    let smallest: Set<string> | undefined;
    for (const [k, v] of pairs) {
      const names = this.podsByPair.get(pairKey(namespace, k, v));
      if (!names) return [];
      if (!smallest || names.size < smallest.size) smallest = names;
    }
    const out: Pod[] = [];
    for (const name of smallest!) {
      const pod = this.pods.get(key(namespace, name))!.pod;
      if (pairs.every(([k, v]) => pod.metadata.labels[k] === v)) out.push(pod);
    }
    return out;
  }

  managedSlices(namespace: string, serviceName: string): StoredSlice[] {
    return [...(this.slices.get(key(namespace, serviceName))?.values() ?? [])];
  }

  /** What a full pass reconciles: every Service and the Services of managed slices (maybe gone), as keys. */
  work(): { namespace: string; name: string }[] {
    const keys = new Set([...this.services.keys(), ...this.slices.keys()]);
    return [...keys].map((k) => {
      const at = k.indexOf('/');
      return { namespace: k.slice(0, at), name: k.slice(at + 1) };
    });
  }

  /** Applies a committed change; returns the keys (namespace/name) of the Services it concerns. */
  apply(change: WatchChange): Set<string> {
    const affected = new Set<string>();
    if (change.kind === 'Pod') {
      const object = change.object as unknown as Pod;
      const podKey = key(object.metadata.namespace, object.metadata.name);
      const old = this.pods.get(podKey);
      const next = change.type === 'DELETED' ? undefined : slimPod(object);
      if (old?.fingerprint === next?.fingerprint) return affected;
      if (old) {
        this.removePod(podKey, old);
        this.servicesOf(old.pod, affected);
      }
      if (next) {
        this.putPod(next);
        this.servicesOf(next.pod, affected);
      }
    } else if (change.kind === 'Node') {
      const node = change.object as unknown as Node;
      const name = node.metadata.name;
      const was = this.nodes.get(name);
      const ready = change.type === 'DELETED' ? undefined : isNodeReady(node);
      if (ready === undefined) this.nodes.delete(name);
      else this.nodes.set(name, ready);
      if ((was ?? false) === (ready ?? false)) return affected;
      for (const podKey of this.podsByNode.get(name) ?? []) this.servicesOf(this.pods.get(podKey)!.pod, affected);
    } else if (change.kind === 'Service') {
      const service = change.object as unknown as StoredService;
      const k = key(service.metadata.namespace, service.metadata.name);
      const old = this.services.get(k);
      if (old) this.removeService(old);
      if (change.type !== 'DELETED') this.putService(service);
      affected.add(k);
    } else if (change.kind === 'EndpointSlice') {
      const slice = change.object as unknown as StoredSlice;
      const sk = key(slice.metadata.namespace, slice.metadata.name);
      const oldOwner = this.sliceOwner.get(sk);
      if (oldOwner !== undefined) {
        this.removeSlice(sk, oldOwner, slice.metadata.name);
        affected.add(oldOwner);
      }
      if (change.type !== 'DELETED' && isManaged(slice)) {
        const owner = this.putSlice(slice);
        if (owner !== undefined) affected.add(owner);
      }
    }
    return affected;
  }

  /** Adds to out the keys of the Services of the pod's namespace whose selector its labels hold. */
  private servicesOf(pod: Pod, out: Set<string>): void {
    const { namespace, labels } = pod.metadata;
    for (const [k, v] of Object.entries(labels)) {
      for (const name of this.servicesByPair.get(pairKey(namespace, k, v)) ?? []) {
        const svcKey = key(namespace, name);
        if (out.has(svcKey)) continue;
        const service = this.services.get(svcKey)!;
        if (selectorPairs(service).every(([sk, sv]) => labels[sk] === sv)) out.add(svcKey);
      }
    }
  }

  private putPod(indexed: IndexedPod): void {
    const { namespace, name, labels } = indexed.pod.metadata;
    const podKey = key(namespace, name);
    this.pods.set(podKey, indexed);
    for (const [k, v] of Object.entries(labels)) addTo(this.podsByPair, pairKey(namespace, k, v), name);
    if (indexed.pod.spec.nodeName) addTo(this.podsByNode, indexed.pod.spec.nodeName, podKey);
  }

  private removePod(podKey: string, indexed: IndexedPod): void {
    const { namespace, name, labels } = indexed.pod.metadata;
    this.pods.delete(podKey);
    for (const [k, v] of Object.entries(labels)) removeFrom(this.podsByPair, pairKey(namespace, k, v), name);
    if (indexed.pod.spec.nodeName) removeFrom(this.podsByNode, indexed.pod.spec.nodeName, podKey);
  }

  private putService(service: StoredService): void {
    const { namespace, name } = service.metadata;
    this.services.set(key(namespace, name), service);
    for (const [k, v] of selectorPairs(service)) addTo(this.servicesByPair, pairKey(namespace, k, v), name);
  }

  private removeService(service: StoredService): void {
    const { namespace, name } = service.metadata;
    this.services.delete(key(namespace, name));
    for (const [k, v] of selectorPairs(service)) removeFrom(this.servicesByPair, pairKey(namespace, k, v), name);
  }

  /** Files a managed slice under its Service; returns that Service's key (undefined: no service-name label). */
  private putSlice(slice: StoredSlice): string | undefined {
    const serviceName = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!serviceName) return undefined;
    const owner = key(slice.metadata.namespace, serviceName);
    let byName = this.slices.get(owner);
    if (!byName) this.slices.set(owner, (byName = new Map()));
    byName.set(slice.metadata.name, slice);
    this.sliceOwner.set(key(slice.metadata.namespace, slice.metadata.name), owner);
    return owner;
  }

  private removeSlice(sliceKey: string, owner: string, name: string): void {
    this.sliceOwner.delete(sliceKey);
    const byName = this.slices.get(owner);
    byName?.delete(name);
    if (byName?.size === 0) this.slices.delete(owner);
  }
}
