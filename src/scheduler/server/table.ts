/**
 * Server-side printing, as kube-apiserver does it for kubectl: a GET (list, object or watch) whose
 * Accept asks for `application/json;as=Table;v=v1;g=meta.k8s.io` (or v1beta1) is answered with a
 * meta.k8s.io Table: kubectl's columns per kind (priority 1 = only with -o wide) and one row per
 * object, each row carrying the object as ?includeObject= says (Metadata by default: a
 * PartialObjectMetadata, which kubectl reads for -A's NAMESPACE and --show-labels; Object; None).
 * The cells are api/print-cells.ts's (the corelet CLI's tables compute the same). An Accept asking
 * for PartialObjectMetadata(List) (client-go's metadata client) gets the objects' metadata only.
 */
import { createHash } from 'node:crypto';
import {
  age,
  internalIp,
  jobCompletions,
  jobDuration,
  jobStatus,
  NONE,
  nodeRoles,
  nodeStatus,
  podReady,
  podRestarts,
  podStatus,
  selectorText,
  servicePorts,
  serviceSelector,
  sliceEndpoints,
  slicePorts,
  templateColumns,
  type DaemonSet,
  type Deployment,
  type EndpointSlice,
  type Job,
  type Namespace,
  type Node,
  type ObjectEvent,
  type ObjectMeta,
  type Pod,
  type PodTemplateSpec,
  type RoleBinding,
  type Service,
  type ServiceAccount,
  type StatefulSet,
} from '../../api/index.js';
import { invalidArgument } from '../../lib/index.js';

/** One column of a Table. */
export interface ColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'date';
  format: string;
  description: string;
  /** 0: always shown; 1: with -o wide only. */
  priority: number;
}

/** A kind's columns and how an object fills them. */
interface KindTable<T> {
  columns: ColumnDefinition[];
  cells(obj: T, now: Date): unknown[];
}

/** What every object has. */
type Meta = { metadata: Pick<ObjectMeta, 'name'> & Partial<ObjectMeta> };

/** A field the kinds' types do not declare (kubectl shows it when set), read from the object. */
function extra(obj: unknown, ...path: string[]): unknown {
  let v = obj;
  for (const key of path) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

/** A ReplicaSet's fields the table reads (the store has no type of its own for it). */
type ReplicaSetRow = Meta & { spec?: { replicas?: number; selector?: Deployment['spec']['selector']; template?: PodTemplateSpec }; status?: { replicas?: number; readyReplicas?: number } };
type Templated = { spec?: { template?: PodTemplateSpec } };

const col = (name: string, description: string, opts: { type?: ColumnDefinition['type']; format?: string; wide?: boolean } = {}): ColumnDefinition => ({
  name,
  type: opts.type ?? 'string',
  format: opts.format ?? '',
  description,
  priority: opts.wide ? 1 : 0,
});

const NAME = col('Name', 'Name must be unique within a namespace.', { format: 'name' });
const AGE = col('Age', 'CreationTimestamp is the time the object was created.');
const CONTAINERS = col('Containers', 'Names of each container in the template.', { wide: true });
const IMAGES = col('Images', 'Images referenced by each container in the template.', { wide: true });
const SELECTOR = col('Selector', 'Label query over pods that should match the replicas count.', { wide: true });
const int = (name: string, description: string) => col(name, description, { type: 'integer' });

const created = (o: Partial<Meta>, now: Date) => age(o.metadata?.creationTimestamp, now);
const template = (o: Templated) => templateColumns(o.spec?.template);

/** "Role/name" of a binding's roleRef. */
const roleOf = (b: Pick<RoleBinding, 'roleRef'>) => `${b.roleRef?.kind ?? ''}/${b.roleRef?.name ?? ''}`;
const subjects = (b: Pick<RoleBinding, 'subjects'>, kind: string) =>
  (b.subjects ?? [])
    .filter((s) => s.kind === kind)
    .map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name}` : s.name))
    .join(', ');

const BINDING: KindTable<RoleBinding> = {
  columns: [NAME, col('Role', 'The role the binding grants.'), AGE, col('Users', 'Users bound.', { wide: true }), col('Groups', 'Groups bound.', { wide: true }), col('ServiceAccounts', 'ServiceAccounts bound.', { wide: true })],
  cells: (b, now) => [b.metadata.name, roleOf(b), created(b, now), subjects(b, 'User'), subjects(b, 'Group'), subjects(b, 'ServiceAccount')],
};

const ROLE: KindTable<Meta> = {
  columns: [NAME, col('Created At', 'CreationTimestamp is the time the object was created.', { type: 'date' })],
  cells: (r) => [r.metadata.name, r.metadata.creationTimestamp ?? null],
};

/** kubectl's columns (k8s.io/kubernetes/pkg/printers/internalversion) of each kind corelet serves. */
const TABLES: Readonly<Record<string, KindTable<never>>> = {
  Pod: {
    columns: [
      NAME,
      col('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
      col('Status', 'The aggregate status of the containers in this pod.'),
      col('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
      AGE,
      col('IP', 'IP address allocated to the pod.', { wide: true }),
      col('Node', 'Name of the node the pod is assigned to.', { wide: true }),
      col('Nominated Node', 'Name of the node nominated by the scheduler.', { wide: true }),
      col('Readiness Gates', 'The readiness gates of the pod.', { wide: true }),
    ],
    cells: (p: Pod, now: Date) => {
      const gates = (extra(p, 'spec', 'readinessGates') ?? []) as { conditionType: string }[];
      const met = gates.filter((g) => (p.status?.conditions ?? []).some((c) => c.type === g.conditionType && c.status === 'True')).length;
      return [
        p.metadata.name,
        podReady(p),
        podStatus(p),
        podRestarts(p, now),
        created(p, now),
        p.status?.podIP || NONE,
        p.spec?.nodeName || NONE,
        (extra(p, 'status', 'nominatedNodeName') as string | undefined) || NONE,
        gates.length ? `${met}/${gates.length}` : NONE,
      ];
    },
  },
  Node: {
    columns: [
      NAME,
      col('Status', 'The status of the node.'),
      col('Roles', 'The roles of the node.'),
      AGE,
      col('Version', 'Kubelet Version reported by the node.'),
      col('Internal-IP', 'List of addresses reachable to the node.', { wide: true }),
      col('External-IP', 'List of addresses reachable to the node.', { wide: true }),
      col('OS-Image', 'OS Image reported by the node from /etc/os-release.', { wide: true }),
      col('Kernel-Version', 'Kernel Version reported by the node.', { wide: true }),
      col('Container-Runtime', 'Container Runtime Version reported by the node.', { wide: true }),
    ],
    cells: (n: Node, now: Date) => {
      const info = n.status?.nodeInfo;
      const external = (n.status?.addresses ?? []).find((a) => a.type === 'ExternalIP')?.address;
      return [n.metadata.name, nodeStatus(n), nodeRoles(n), created(n, now), info?.kubeletVersion || '', internalIp(n), external || NONE, info?.osImage || '<unknown>', info?.kernelVersion || '<unknown>', info?.containerRuntimeVersion || '<unknown>'];
    },
  },
  Deployment: {
    columns: [NAME, col('Ready', 'Number of the pod with ready state.'), int('Up-to-date', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'), int('Available', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'), AGE, CONTAINERS, IMAGES, SELECTOR],
    cells: (d: Deployment, now: Date) => [d.metadata.name, `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`, d.status?.updatedReplicas ?? 0, d.status?.availableReplicas ?? 0, created(d, now), ...template(d), selectorText(d.spec?.selector)],
  },
  ReplicaSet: {
    columns: [NAME, int('Desired', 'Number of desired pods.'), int('Current', 'Number of actual replicas.'), int('Ready', 'The number of ready replicas for this replica set.'), AGE, CONTAINERS, IMAGES, SELECTOR],
    cells: (rs: ReplicaSetRow, now: Date) => [rs.metadata.name, rs.spec?.replicas ?? 0, rs.status?.replicas ?? 0, rs.status?.readyReplicas ?? 0, created(rs, now), ...template(rs), selectorText(rs.spec?.selector)],
  },
  StatefulSet: {
    columns: [NAME, col('Ready', 'Number of the pod with ready state.'), AGE, CONTAINERS, IMAGES],
    cells: (s: StatefulSet, now: Date) => [s.metadata.name, `${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 1}`, created(s, now), ...template(s)],
  },
  DaemonSet: {
    columns: [
      NAME,
      int('Desired', 'The total number of nodes that should be running the daemon pod.'),
      int('Current', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.'),
      int('Ready', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.'),
      int('Up-to-date', 'The total number of nodes that are running updated daemon pod.'),
      int('Available', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.'),
      col('Node Selector', 'NodeSelector is a selector which must be true for the pod to fit on a node.'),
      AGE,
      CONTAINERS,
      IMAGES,
      SELECTOR,
    ],
    cells: (ds: DaemonSet, now: Date) => {
      const s = ds.status;
      const nodeSelector = Object.entries(ds.spec?.template?.spec?.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
      return [ds.metadata.name, s?.desiredNumberScheduled ?? 0, s?.currentNumberScheduled ?? 0, s?.numberReady ?? 0, s?.updatedNumberScheduled ?? 0, s?.numberAvailable ?? 0, nodeSelector || NONE, created(ds, now), ...template(ds), selectorText(ds.spec?.selector)];
    },
  },
  Job: {
    columns: [NAME, col('Status', 'Status of the job.'), col('Completions', 'The completion status of the job.'), col('Duration', 'Time required to complete the job.'), AGE, CONTAINERS, IMAGES, SELECTOR],
    cells: (j: Job, now: Date) => [j.metadata.name, jobStatus(j), jobCompletions(j), jobDuration(j, now), created(j, now), ...template(j), selectorText(j.spec?.selector)],
  },
  Service: {
    columns: [
      NAME,
      col('Type', 'Type of the service.'),
      col('Cluster-IP', 'Cluster IP of the service.'),
      col('External-IP', 'External IP of the service.'),
      col('Port(s)', 'Port(s) of the service.'),
      AGE,
      col('Selector', 'Route service traffic to pods with label keys and values matching this selector.', { wide: true }),
    ],
    cells: (svc: Service, now: Date) => [svc.metadata.name, svc.spec?.type ?? 'ClusterIP', svc.spec?.clusterIP || NONE, ((extra(svc, 'spec', 'externalIPs') ?? []) as string[]).join(',') || NONE, servicePorts(svc), created(svc, now), serviceSelector(svc)],
  },
  EndpointSlice: {
    columns: [NAME, col('AddressType', 'The type of address assigned to the endpoints in this slice.'), col('Ports', 'The ports of the endpoints in this slice.'), col('Endpoints', 'The addresses of the endpoints in this slice.'), AGE],
    cells: (s: EndpointSlice, now: Date) => [s.metadata.name, s.addressType ?? 'IPv4', slicePorts(s), sliceEndpoints(s), created(s, now)],
  },
  Namespace: {
    columns: [NAME, col('Status', 'The status of the namespace.'), AGE],
    cells: (ns: Namespace, now: Date) => [ns.metadata.name, ns.status?.phase ?? 'Active', created(ns, now)],
  },
  ServiceAccount: {
    columns: [NAME, int('Secrets', 'Secrets is the list of secrets allowed to be used by pods running using this ServiceAccount.'), AGE],
    cells: (sa: ServiceAccount, now: Date) => [sa.metadata.name, ((extra(sa, 'secrets') ?? []) as unknown[]).length, created(sa, now)],
  },
  Event: {
    columns: [
      col('Last Seen', 'The time the event was last seen.'),
      col('Type', 'Type of this event (Normal, Warning).'),
      col('Reason', 'Short, machine understandable string that gives the reason for this event being generated.'),
      col('Object', 'The object this event is about.'),
      col('Subobject', 'The field of the object this event is about.', { wide: true }),
      col('Source', 'The component reporting this event.', { wide: true }),
      col('Message', 'A human-readable description of the status of this operation.'),
      col('First Seen', 'The time the event was first seen.', { wide: true }),
      col('Count', 'The number of times this event has occurred.', { type: 'integer', wide: true }),
      col('Name', 'Name of the event.', { wide: true }),
    ],
    cells: (e: ObjectEvent & Partial<Meta>, now: Date) => [
      age(e.lastTimestamp ?? e.firstTimestamp, now),
      e.type,
      e.reason,
      `${String(e.involvedObject?.kind ?? '').toLowerCase()}/${e.involvedObject?.name ?? ''}`,
      (extra(e, 'involvedObject', 'fieldPath') as string | undefined) ?? '',
      [e.source?.component, e.source?.host].filter(Boolean).join(', '),
      String(e.message ?? '').replace(/\s*\n\s*/g, ' '),
      age(e.firstTimestamp, now),
      e.count ?? 1,
      e.metadata?.name ?? '',
    ],
  },
  Role: ROLE,
  ClusterRole: ROLE,
  RoleBinding: BINDING,
  ClusterRoleBinding: BINDING,
};

/** The columns of a kind without a table of its own: Name and Age. */
const DEFAULT_TABLE: KindTable<Partial<Meta>> = { columns: [NAME, AGE], cells: (o, now) => [o.metadata?.name ?? '', created(o, now)] };

/** The Table version an Accept header asks for (meta.k8s.io v1 or v1beta1), if any; the first that fits wins. */
export function tableRequested(accept: string | undefined): 'v1' | 'v1beta1' | undefined {
  for (const part of (accept ?? '').split(',')) {
    const [type, ...rest] = part.split(';').map((p) => p.trim());
    const params = Object.fromEntries(rest.map((p) => p.split('=') as [string, string]));
    if ((type === 'application/json' || type === '*/*') && params.as === 'Table' && params.g === 'meta.k8s.io' && (params.v === 'v1' || params.v === 'v1beta1')) return params.v;
    // A plain type first: the client prefers it.
    if (params.as === undefined && (type === 'application/json' || type === '*/*')) return undefined;
  }
  return undefined;
}

/** Whether an Accept header asks for metadata only (PartialObjectMetadata(List), as client-go's metadata client does) before any plain type. */
export function metadataRequested(accept: string | undefined): 'v1' | 'v1beta1' | undefined {
  for (const part of (accept ?? '').split(',')) {
    const [type, ...rest] = part.split(';').map((p) => p.trim());
    const params = Object.fromEntries(rest.map((p) => p.split('=') as [string, string]));
    if (params.as === undefined && (type === 'application/json' || type === '*/*')) return undefined;
    if (params.g === 'meta.k8s.io' && (params.as === 'PartialObjectMetadata' || params.as === 'PartialObjectMetadataList') && (params.v === 'v1' || params.v === 'v1beta1')) return params.v;
  }
  return undefined;
}

/** A GET answer as metadata only: a List becomes a PartialObjectMetadataList, an object a PartialObjectMetadata. */
export function asPartialMetadata(body: unknown, version: 'v1' | 'v1beta1'): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const b = body as { kind?: unknown; items?: unknown; metadata?: unknown };
  if (typeof b.kind !== 'string' || b.kind === 'Status' || b.metadata === undefined) return body;
  const apiVersion = `meta.k8s.io/${version}`;
  if (Array.isArray(b.items) && b.kind.endsWith('List')) {
    return { kind: 'PartialObjectMetadataList', apiVersion, metadata: b.metadata, items: b.items.map((o) => ({ kind: 'PartialObjectMetadata', apiVersion, metadata: extra(o, 'metadata') ?? {} })) };
  }
  return { kind: 'PartialObjectMetadata', apiVersion, metadata: b.metadata };
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** ?includeObject=: Metadata when absent. */
export function includeObjectParam(value: string | null): IncludeObject {
  if (value === null || value === '') return 'Metadata';
  if (value === 'None' || value === 'Metadata' || value === 'Object') return value;
  throw invalidArgument(`includeObject must be None, Metadata or Object, got ${JSON.stringify(value)}`);
}

function rowObject(obj: unknown, include: IncludeObject, version: string): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: extra(obj, 'metadata') ?? {} };
}

/** Rendering options: the Table version asked for, what rows carry, the time ages are computed at. */
export interface TableOptions {
  version: 'v1' | 'v1beta1';
  includeObject: IncludeObject;
  now: Date;
  /** Leave out columnDefinitions (a watch's events after the first). */
  noHeaders?: boolean;
}

/**
 * A row's cells; an object whose stored fields are not of the shape the printer reads (a status
 * written before it was checked) shows its name and <unknown> rather than failing the whole list.
 */
function safeCells(t: KindTable<unknown>, obj: unknown, now: Date): unknown[] {
  try {
    return t.cells(obj, now);
  } catch {
    const meta = (obj as { metadata?: { name?: unknown } } | null)?.metadata;
    return t.columns.map((_, i) => (i === 0 && typeof meta?.name === 'string' ? meta.name : '<unknown>'));
  }
}

/** The Table of one kind's objects. */
export function tableOf(kind: string, items: readonly unknown[], listMeta: Record<string, unknown>, opts: TableOptions): unknown {
  const t = (TABLES[kind] ?? DEFAULT_TABLE) as KindTable<unknown>;
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${opts.version}`,
    metadata: listMeta,
    columnDefinitions: opts.noHeaders ? [] : t.columns,
    rows: items.map((obj) => {
      const object = rowObject(obj, opts.includeObject, opts.version);
      return { cells: safeCells(t, obj, opts.now), ...(object !== undefined ? { object } : {}) };
    }),
  };
}

/**
 * A GET answer as a Table: a List (kind "XList") becomes a Table of its items, one object a Table of
 * one row; anything else (a Status, a Scale...) is returned as it is.
 */
export function asTable(body: unknown, opts: TableOptions): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const b = body as { kind?: unknown; items?: unknown; metadata?: Record<string, unknown> };
  if (typeof b.kind !== 'string' || b.kind === 'Status' || b.kind === 'Table') return body;
  if (Array.isArray(b.items) && b.kind.endsWith('List')) {
    const { resourceVersion, continue: cont, remainingItemCount } = b.metadata ?? {};
    const meta = { ...(resourceVersion !== undefined ? { resourceVersion } : {}), ...(cont !== undefined ? { continue: cont } : {}), ...(remainingItemCount !== undefined ? { remainingItemCount } : {}) };
    return tableOf(b.kind.slice(0, -'List'.length), b.items, meta, opts);
  }
  if (b.metadata === undefined || !(b.kind in TABLES || b.kind === 'Event')) return body;
  return tableOf(b.kind, [body], { resourceVersion: b.metadata.resourceVersion }, opts);
}

/**
 * An Event as the API shows it: the store keeps {type, reason, message, involvedObject, counts};
 * Kubernetes' Event also has kind, apiVersion and metadata (kubectl reads its namespace and name).
 * The name is stable per event (its object, reason and first time seen).
 */
export function eventOnWire(e: ObjectEvent): unknown {
  const io = e.involvedObject;
  const id = createHash('sha256').update(`${io.kind}\0${io.namespace ?? ''}\0${io.name}\0${io.uid ?? ''}\0${e.reason}\0${e.firstTimestamp}`).digest('hex').slice(0, 16);
  return {
    kind: 'Event',
    apiVersion: 'v1',
    metadata: { name: `${io.name}.${id}`, namespace: io.namespace || 'default', creationTimestamp: e.firstTimestamp },
    ...e,
    ...(e.source ? {} : { source: {} }),
  };
}
