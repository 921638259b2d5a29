/**
 * The kind registry: every object kind corelet serves, once. The CLI (names and paths), the REST API
 * (URL resources), the store (which kinds it holds, their scope and apiVersion) and RBAC (a
 * resource's API group) all read this table; nothing else lists the kinds. The names are
 * Kubernetes' own (`kubectl api-resources`): plural, singular and short names, group and version.
 */

/** One row of the registry. */
export interface KindEntry {
  /** The object kind ("Deployment"). */
  readonly kind: string;
  /** The URL resource, plural and lower case ("deployments"). */
  readonly plural: string;
  /** The singular, lower case ("deployment"). */
  readonly singular: string;
  /** kubectl's short names ("deploy"); empty when it has none. */
  readonly shortNames: readonly string[];
  /** Whether objects live in a namespace (Node, Namespace and the cluster RBAC kinds do not). */
  readonly namespaced: boolean;
  /** The API group ("" for the core group, "apps", "batch", "rbac.authorization.k8s.io"). */
  readonly group: string;
  /** The version within the group ("v1"). */
  readonly version: string;
  /** The store table that holds the objects: events are kept apart (they expire). */
  readonly table: 'objects' | 'events';
}

const RBAC = 'rbac.authorization.k8s.io';

/** Every kind, in the order `corelet get --help` lists them. */
export const KINDS = [
  { kind: 'Pod', plural: 'pods', singular: 'pod', shortNames: ['po'], namespaced: true, group: '', version: 'v1', table: 'objects' },
  { kind: 'Node', plural: 'nodes', singular: 'node', shortNames: ['no'], namespaced: false, group: '', version: 'v1', table: 'objects' },
  { kind: 'Deployment', plural: 'deployments', singular: 'deployment', shortNames: ['deploy'], namespaced: true, group: 'apps', version: 'v1', table: 'objects' },
  { kind: 'ReplicaSet', plural: 'replicasets', singular: 'replicaset', shortNames: ['rs'], namespaced: true, group: 'apps', version: 'v1', table: 'objects' },
  { kind: 'StatefulSet', plural: 'statefulsets', singular: 'statefulset', shortNames: ['sts'], namespaced: true, group: 'apps', version: 'v1', table: 'objects' },
  { kind: 'DaemonSet', plural: 'daemonsets', singular: 'daemonset', shortNames: ['ds'], namespaced: true, group: 'apps', version: 'v1', table: 'objects' },
  { kind: 'Job', plural: 'jobs', singular: 'job', shortNames: [], namespaced: true, group: 'batch', version: 'v1', table: 'objects' },
  { kind: 'Namespace', plural: 'namespaces', singular: 'namespace', shortNames: ['ns'], namespaced: false, group: '', version: 'v1', table: 'objects' },
  { kind: 'Event', plural: 'events', singular: 'event', shortNames: ['ev'], namespaced: true, group: '', version: 'v1', table: 'events' },
  { kind: 'Service', plural: 'services', singular: 'service', shortNames: ['svc'], namespaced: true, group: '', version: 'v1', table: 'objects' },
  { kind: 'EndpointSlice', plural: 'endpointslices', singular: 'endpointslice', shortNames: [], namespaced: true, group: 'discovery.k8s.io', version: 'v1', table: 'objects' },
  { kind: 'ServiceAccount', plural: 'serviceaccounts', singular: 'serviceaccount', shortNames: ['sa'], namespaced: true, group: '', version: 'v1', table: 'objects' },
  { kind: 'Role', plural: 'roles', singular: 'role', shortNames: [], namespaced: true, group: RBAC, version: 'v1', table: 'objects' },
  { kind: 'RoleBinding', plural: 'rolebindings', singular: 'rolebinding', shortNames: [], namespaced: true, group: RBAC, version: 'v1', table: 'objects' },
  { kind: 'ClusterRole', plural: 'clusterroles', singular: 'clusterrole', shortNames: [], namespaced: false, group: RBAC, version: 'v1', table: 'objects' },
  { kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', singular: 'clusterrolebinding', shortNames: [], namespaced: false, group: RBAC, version: 'v1', table: 'objects' },
] as const satisfies readonly KindEntry[];

/** A kind the registry knows ("Pod", "Event", ...). */
export type RegisteredKind = (typeof KINDS)[number]['kind'];

/** The kinds kept in the store's objects table: every kind but Event. */
export type ObjectTableKind = Extract<(typeof KINDS)[number], { table: 'objects' }>['kind'];

/** The row of a kind the registry knows. */
export function kindEntry(kind: RegisteredKind): KindEntry;
/** The row of a kind, or undefined for one the registry does not know. */
export function kindEntry(kind: string): KindEntry | undefined;
export function kindEntry(kind: string): KindEntry | undefined {
  return (KINDS as readonly KindEntry[]).find((k) => k.kind === kind);
}

/** The row whose URL resource is plural ("deployments"), if any. */
export function kindOfResource(plural: string): KindEntry | undefined {
  return (KINDS as readonly KindEntry[]).find((k) => k.plural === plural);
}

/** The apiVersion a kind is served under: "v1", "apps/v1", "rbac.authorization.k8s.io/v1". */
export function apiVersionOf(kind: RegisteredKind): string {
  const e = kindEntry(kind);
  return e.group === '' ? e.version : `${e.group}/${e.version}`;
}

/**
 * corelet serves every resource under /api/v1; Kubernetes serves these under their groups, and RBAC
 * rules name those groups: the registry's above, and those of resources RBAC rules may
 * name that corelet does not store. Resources not listed here belong to the group of their URL.
 */
export const RESOURCE_GROUPS: Readonly<Record<string, string>> = Object.assign(Object.create(null) as Record<string, string>, {
  ...Object.fromEntries(KINDS.filter((k) => k.group !== '').map((k) => [k.plural, k.group])),
  controllerrevisions: 'apps',
  cronjobs: 'batch',
  certificatesigningrequests: 'certificates.k8s.io',
  subjectaccessreviews: 'authorization.k8s.io',
  selfsubjectaccessreviews: 'authorization.k8s.io',
  localsubjectaccessreviews: 'authorization.k8s.io',
  tokenreviews: 'authentication.k8s.io',
});
