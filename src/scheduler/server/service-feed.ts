/**
 * The Services and EndpointSlices every agent's data plane (service proxy, cluster DNS) needs, sent
 * over the node sessions as `services` messages (api/messages.ts): a full snapshot (`reset`) to a node
 * when it registers, then every committed change once, to every node, coalesced over a few
 * milliseconds (a rollout's burst of slice writes is one message, not one per write). Deltas, not the
 * full list on every change: a change costs one object on the wire whatever the cluster's size.
 */
import {
  CLUSTER_IP_NONE,
  FieldReader,
  MAX_MESSAGE_BYTES,
  MESSAGE_VERSION,
  decodeEndpointSlice,
  decodeService,
  type DeletedServiceObject,
  type EndpointSlice,
  type Service,
  type ServicesMessage,
} from '../../api/index.js';
import type { Store, StoredObject, WatchChange } from '../store/index.js';
import type { NodeSessions } from './node-sessions.js';

/** How long changes are gathered before they go out (well inside the one second). */
export const SERVICE_FEED_COALESCE_MS = 10;
/** A batch is split into messages of about this many bytes (well under the message limit). */
const TARGET_MESSAGE_BYTES = Math.floor(MAX_MESSAGE_BYTES / 2);

type Kind = 'Service' | 'EndpointSlice';

/** The metadata an agent needs: the rest (managed fields, timestamps, owners) stays in the store. */
function wireMeta(o: Readonly<StoredObject>): Service['metadata'] {
  const { name, namespace, uid, resourceVersion, labels } = o.metadata;
  return { name, namespace, uid, resourceVersion, labels: { ...labels }, annotations: {} };
}

/**
 * The problems an agent would find in this object (empty: it can go on the wire), read with the
 * agent's own decoders: a Service needs its cluster IP (or None) and uid. Every object written
 * through the API passes; one that does not (a decoder and a writer drifting apart, a controller's
 * write) goes out as deleted, so each node drops it rather than keep a stale version.
 */
export function wireProblems(kind: Kind, o: Readonly<StoredObject>): string[] {
  const r = new FieldReader();
  const ref = `${kind} ${o.metadata.namespace}/${o.metadata.name}`;
  const wire = (kind === 'Service' ? serviceOnWire(o) : sliceOnWire(o)) as unknown as Record<string, unknown>;
  if (kind === 'Service') {
    const svc = decodeService(r, wire, ref, 'store');
    if (svc && typeof svc.spec.clusterIP !== 'string') r.error(`${ref}.spec.clusterIP`, `required value (an allocated address or ${CLUSTER_IP_NONE})`);
    if (svc && !svc.metadata.uid) r.error(`${ref}.metadata.uid`, 'required value');
  } else decodeEndpointSlice(r, wire, ref, 'store');
  return r.errors;
}

/** A stored Service as it goes on the wire. */
export function serviceOnWire(o: Readonly<StoredObject>): Service {
  const svc = o as unknown as Service;
  const { annotations: _a, ...metadata } = wireMeta(o);
  return { apiVersion: 'v1', kind: 'Service', metadata: metadata as Service['metadata'], spec: svc.spec };
}

/** A stored EndpointSlice as it goes on the wire. */
export function sliceOnWire(o: Readonly<StoredObject>): EndpointSlice {
  const s = o as unknown as EndpointSlice;
  const { annotations: _a, ...metadata } = wireMeta(o);
  return { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: metadata as EndpointSlice['metadata'], addressType: s.addressType, endpoints: s.endpoints, ports: s.ports };
}

/**
 * A batch as messages of at most about TARGET_MESSAGE_BYTES each; all but the last carry `more`.
 * Always at least one message (an empty reset still tells the agent it has nothing).
 */
export function servicesMessages(batch: { reset?: boolean; clusterCIDR?: string; services: Service[]; endpointSlices: EndpointSlice[]; deleted: DeletedServiceObject[] }, targetBytes = TARGET_MESSAGE_BYTES): ServicesMessage[] {
  const out: ServicesMessage[] = [];
  let current: ServicesMessage | undefined;
  let size = 0;
  const next = (): ServicesMessage => {
    const first = out.length === 0;
    current = { v: MESSAGE_VERSION, type: 'services', ...(batch.reset && first ? { reset: true } : {}), ...(batch.reset && first && batch.clusterCIDR ? { clusterCIDR: batch.clusterCIDR } : {}), services: [], endpointSlices: [], deleted: [] };
    out.push(current);
    size = 200;
    return current;
  };
  const add = <K extends 'services' | 'endpointSlices' | 'deleted'>(field: K, item: ServicesMessage[K][number]) => {
    const bytes = Buffer.byteLength(JSON.stringify(item)) + 1;
    let m = current ?? next();
    if (size + bytes > targetBytes && size > 200) m = next();
    (m[field] as unknown[]).push(item);
    size += bytes;
  };
  // Deletions first: a Service deleted and created again in one batch ends up present.
  for (const d of batch.deleted) add('deleted', d);
  for (const s of batch.services) add('services', s);
  for (const s of batch.endpointSlices) add('endpointSlices', s);
  if (out.length === 0) next();
  for (const m of out.slice(0, -1)) m.more = true;
  return out;
}

/** Watches the store and feeds the node sessions; {@link close} stops it. */
export class ServiceFeed {
  /** The changes not sent yet, by "Kind ns/name": the newest object, or null when deleted. */
  private readonly pending = new Map<string, { kind: Kind; namespace: string; name: string; object: Readonly<StoredObject> | null }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly unwatch: () => void;

  constructor(
    private readonly store: Store,
    private readonly sessions: Pick<NodeSessions, 'send' | 'broadcast'>,
    private readonly coalesceMs = SERVICE_FEED_COALESCE_MS,
    private readonly onUnusable: (problems: string[]) => void = () => {},
    /** The cluster's pod CIDR, told to each node with its snapshot. */
    private readonly clusterCIDR?: string,
  ) {
    this.unwatch = store.watch((change) => this.onChange(change));
  }

  private onChange(change: WatchChange): void {
    if (change.kind !== 'Service' && change.kind !== 'EndpointSlice') return;
    const o = change.object as Readonly<StoredObject>;
    const { namespace, name } = o.metadata;
    this.pending.set(`${change.kind} ${namespace}/${name}`, { kind: change.kind, namespace, name, object: change.type === 'DELETED' ? null : o });
    this.timer ??= setTimeout(() => this.flush(), this.coalesceMs);
  }

  /** Sends the pending changes to every node now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = { services: [] as Service[], endpointSlices: [] as EndpointSlice[], deleted: [] as DeletedServiceObject[] };
    for (const p of this.pending.values()) {
      if (p.object === null || !this.usable(p.kind, p.object)) batch.deleted.push({ kind: p.kind, namespace: p.namespace, name: p.name });
      else if (p.kind === 'Service') batch.services.push(serviceOnWire(p.object));
      else batch.endpointSlices.push(sliceOnWire(p.object));
    }
    this.pending.clear();
    for (const m of servicesMessages(batch)) this.sessions.broadcast(m);
  }

  /** Sends one node every Service and EndpointSlice (`reset`): after it registers. */
  snapshot(nodeName: string): void {
    const services = this.store.list<StoredObject>('Service').filter((o) => this.usable('Service', o)).map(serviceOnWire);
    const endpointSlices = this.store.list<StoredObject>('EndpointSlice').filter((o) => this.usable('EndpointSlice', o)).map(sliceOnWire);
    for (const m of servicesMessages({ reset: true, ...(this.clusterCIDR ? { clusterCIDR: this.clusterCIDR } : {}), services, endpointSlices, deleted: [] })) this.sessions.send(nodeName, m);
  }

  private usable(kind: Kind, o: Readonly<StoredObject>): boolean {
    const problems = wireProblems(kind, o);
    if (problems.length > 0) this.onUnusable(problems);
    return problems.length === 0;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.unwatch();
  }
}
