/**
 * How `corelet get` shows objects: kubectl's columns per kind (pods: NAME READY STATUS RESTARTS AGE,
 * nodes: NAME STATUS ROLES AGE VERSION, ...), the wide variants, and -o json/yaml/name. Pure: every
 * function takes the objects and the time to compute ages at.
 */
import { createRequire } from 'node:module';
import type { DaemonSet, Deployment, EndpointSlice, Job, Node, ObjectEvent, Pod, Service, StatefulSet } from '../api/index.js';
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
} from '../api/index.js';
import { kindOf } from './kinds.js';
import { formatTable } from './table.js';

// The cells (a pod's STATUS, a node's ROLES...) are api/print-cells.ts's, shared with the scheduler's server-side Tables.
export { jobStatus, nodeRoles, nodeStatus, podReady, podRestarts, podStatus, selectorText, servicePorts, serviceSelector, sliceEndpoints, slicePorts } from '../api/index.js';

/** yaml, loaded when YAML is printed: most commands print none, and loading it is a third of a light command's start-up. */
const yaml = (): typeof import('yaml') => createRequire(import.meta.url)('yaml');

/** A kind's table: its header and how to turn an object into a row. */
export interface Columns {
  headers: string[];
  row(obj: any, now: Date): string[];
}

/** Output formats of `get -o`. */
export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name';

/** Checks an -o value. */
export function parseOutputFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === '') return 'table';
  if (['wide', 'json', 'yaml', 'name'].includes(value)) return value as OutputFormat;
  throw new Error(`unknown output format "${value}": use wide, json, yaml or name`);
}

const created = (o: any, now: Date) => age(o?.metadata?.creationTimestamp, now);

/** The columns of a kind; with -A the NAMESPACE column comes first. */
export function columnsFor(kind: string, opts: { wide: boolean; withNamespace: boolean }): Columns {
  const { wide } = opts;
  let cols: Columns;
  switch (kind) {
    case 'Pod':
      cols = {
        headers: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', ...(wide ? ['IP', 'NODE'] : [])],
        row: (p: Pod, now) => [
          p.metadata.name,
          podReady(p),
          podStatus(p),
          podRestarts(p, now),
          created(p, now),
          ...(wide ? [p.status?.podIP || NONE, p.spec?.nodeName || NONE] : []),
        ],
      };
      break;
    case 'Node':
      cols = {
        headers: ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', ...(wide ? ['INTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME'] : [])],
        row: (n: Node, now) => {
          const info = n.status?.nodeInfo;
          return [
            n.metadata.name,
            nodeStatus(n),
            nodeRoles(n),
            created(n, now),
            info?.kubeletVersion || NONE,
            ...(wide ? [internalIp(n), info?.osImage || NONE, info?.kernelVersion || NONE, info?.containerRuntimeVersion || NONE] : []),
          ];
        },
      };
      break;
    case 'Deployment':
      cols = {
        headers: ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', ...(wide ? ['CONTAINERS', 'IMAGES', 'SELECTOR'] : [])],
        row: (d: Deployment, now) => [
          d.metadata.name,
          `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`,
          String(d.status?.updatedReplicas ?? 0),
          String(d.status?.availableReplicas ?? 0),
          created(d, now),
          ...(wide ? [...templateColumns(d.spec?.template), selectorText(d.spec?.selector)] : []),
        ],
      };
      break;
    case 'ReplicaSet':
      cols = {
        headers: ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE', ...(wide ? ['CONTAINERS', 'IMAGES', 'SELECTOR'] : [])],
        row: (rs: any, now) => [
          rs.metadata.name,
          String(rs.spec?.replicas ?? 0),
          String(rs.status?.replicas ?? 0),
          String(rs.status?.readyReplicas ?? 0),
          created(rs, now),
          ...(wide ? [...templateColumns(rs.spec?.template), selectorText(rs.spec?.selector)] : []),
        ],
      };
      break;
    case 'StatefulSet':
      cols = {
        headers: ['NAME', 'READY', 'AGE', ...(wide ? ['CONTAINERS', 'IMAGES'] : [])],
        row: (s: StatefulSet, now) => [
          s.metadata.name,
          `${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 1}`,
          created(s, now),
          ...(wide ? templateColumns(s.spec?.template) : []),
        ],
      };
      break;
    case 'DaemonSet':
      cols = {
        headers: ['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE', ...(wide ? ['CONTAINERS', 'IMAGES', 'SELECTOR'] : [])],
        row: (ds: DaemonSet, now) => {
          const s = ds.status;
          const nodeSelector = Object.entries(ds.spec?.template?.spec?.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
          return [
            ds.metadata.name,
            String(s?.desiredNumberScheduled ?? 0),
            String(s?.currentNumberScheduled ?? 0),
            String(s?.numberReady ?? 0),
            String(s?.updatedNumberScheduled ?? 0),
            String(s?.numberAvailable ?? 0),
            nodeSelector || NONE,
            created(ds, now),
            ...(wide ? [...templateColumns(ds.spec?.template), selectorText(ds.spec?.selector)] : []),
          ];
        },
      };
      break;
    case 'Job':
      cols = {
        headers: ['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE', ...(wide ? ['CONTAINERS', 'IMAGES', 'SELECTOR'] : [])],
        row: (j: Job, now) => [
          j.metadata.name,
          jobStatus(j),
          jobCompletions(j),
          jobDuration(j, now),
          created(j, now),
          ...(wide ? [...templateColumns(j.spec?.template), selectorText(j.spec?.selector)] : []),
        ],
      };
      break;
    case 'Event':
      cols = {
        headers: ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE', ...(wide ? ['SOURCE', 'FIRST SEEN', 'COUNT'] : [])],
        row: (e: ObjectEvent, now) => [
          age(e.lastTimestamp, now),
          e.type,
          e.reason,
          `${e.involvedObject.kind.toLowerCase()}/${e.involvedObject.name}`,
          e.message.replace(/\s*\n\s*/g, ' '),
          ...(wide ? [[e.source?.component, e.source?.host].filter(Boolean).join(', ') || NONE, age(e.firstTimestamp, now), String(e.count)] : []),
        ],
      };
      break;
    case 'Service':
      cols = {
        headers: ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE', ...(wide ? ['SELECTOR'] : [])],
        row: (svc: Service, now) => [
          svc.metadata.name,
          svc.spec?.type ?? 'ClusterIP',
          svc.spec?.clusterIP || NONE,
          NONE,
          servicePorts(svc),
          created(svc, now),
          ...(wide ? [serviceSelector(svc)] : []),
        ],
      };
      break;
    case 'EndpointSlice':
      cols = {
        headers: ['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE'],
        row: (s: EndpointSlice, now) => [s.metadata.name, s.addressType ?? 'IPv4', slicePorts(s), sliceEndpoints(s), created(s, now)],
      };
      break;
    case 'Namespace':
      cols = { headers: ['NAME', 'STATUS', 'AGE'], row: (o: any, now) => [o.metadata?.name ?? '', o.status?.phase ?? 'Active', created(o, now)] };
      break;
    default:
      cols = { headers: ['NAME', 'AGE'], row: (o: any, now) => [o.metadata?.name ?? '', created(o, now)] };
  }
  if (!opts.withNamespace || kind === 'Node' || kind === 'Namespace' || kind === 'ClusterRole' || kind === 'ClusterRoleBinding') return cols; // cluster-scoped: no namespace
  return {
    headers: ['NAMESPACE', ...cols.headers],
    row: (o: any, now) => [(kind === 'Event' ? o.involvedObject?.namespace : o.metadata?.namespace) || NONE, ...cols.row(o, now)],
  };
}

/**
 * Objects of one kind as an aligned table with its header. With qualify (several kinds listed at
 * once), names read "deployment.apps/web", as kubectl prints them then.
 */
export function printTable(kind: string, items: readonly unknown[], opts: { wide: boolean; withNamespace: boolean; qualify?: boolean }, now: Date): string {
  const cols = columnsFor(kind, opts);
  const nameAt = cols.headers.indexOf('NAME');
  const prefix = `${kindOf(kind)?.display ?? kind.toLowerCase()}/`;
  const rows = items.map((o) => {
    const row = cols.row(o, now);
    if (opts.qualify && nameAt >= 0) row[nameAt] = prefix + row[nameAt];
    return row;
  });
  return formatTable([cols.headers, ...rows]);
}

/** What -o json and -o yaml print for several objects: a v1 List, as kubectl does. */
export function toList(items: readonly unknown[]): { apiVersion: 'v1'; kind: 'List'; metadata: { resourceVersion: string }; items: unknown[] } {
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: [...items] };
}

/** "pod/web" (-o name); events, which have no names, as "event/<object>". */
export function objectName(obj: any): string {
  if (obj?.involvedObject && !obj.metadata) return `event/${obj.involvedObject.name}`;
  const info = kindOf(obj?.kind);
  return `${info?.display ?? String(obj?.kind ?? 'object').toLowerCase()}/${obj?.metadata?.name}`;
}

/** One object or a List in a machine format; no trailing newline. */
/**
 * An object (or a List's items) without metadata.managedFields, server-side apply's bookkeeping,
 * which kubectl too leaves out of -o json|yaml unless asked.
 */
function withoutManagedFields(value: unknown): unknown {
  const strip = (o: unknown): unknown => {
    const meta = (o as { metadata?: Record<string, unknown> } | null)?.metadata;
    if (typeof meta !== 'object' || meta === null || !('managedFields' in meta)) return o;
    const { managedFields: _managed, ...rest } = meta;
    return { ...(o as object), metadata: rest };
  };
  const items = (value as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? { ...(value as object), items: items.map(strip) } : strip(value);
}

export function formatMachine(format: 'json' | 'yaml' | 'name', value: unknown): string {
  if (format === 'json') return JSON.stringify(withoutManagedFields(value), null, 4);
  if (format === 'yaml') return yaml().stringify(withoutManagedFields(value)).trimEnd();
  const items = (value as { kind?: string; items?: unknown[] }).kind === 'List' ? (value as { items: unknown[] }).items : [value];
  return items.map(objectName).join('\n');
}
