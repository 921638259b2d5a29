/**
 * The ClusterRoles and ClusterRoleBindings every cluster starts with, as Kubernetes bootstraps them:
 * cluster-admin (everything) bound to system:masters; the user-facing admin, edit and view (meant to
 * be granted per namespace with a RoleBinding); system:discovery (anyone authenticated may read
 * /api, /apis, /version and /openapi); system:basic-user (anyone may ask what they may do);
 * system:node and system:node-bootstrapper for nodes and bootstrap tokens. They are reconciled at
 * start: created when missing, rules and subjects restored when changed, never duplicated.
 */
import type { PolicyRule, Subject } from '../../api/index.js';
import { AUTHENTICATED_GROUP, BOOTSTRAPPERS_GROUP, MASTERS_GROUP, NODES_GROUP } from '../auth/index.js';
import type { ObjectInput, Store, StoredObject } from '../store/index.js';

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const ALL = [...READ, ...WRITE];

/** What view reads: namespaced objects except secrets-like ones and RBAC. */
const VIEW_RULES: PolicyRule[] = [
  {
    apiGroups: [''],
    resources: ['pods', 'pods/log', 'pods/status', 'configmaps', 'endpoints', 'persistentvolumeclaims', 'services', 'serviceaccounts', 'events', 'limitranges', 'resourcequotas', 'replicationcontrollers', 'replicationcontrollers/scale'],
    verbs: READ,
  },
  { apiGroups: [''], resources: ['namespaces'], verbs: READ },
  { apiGroups: ['apps'], resources: ['deployments', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale', 'daemonsets', 'controllerrevisions'], verbs: READ },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: READ },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
];

/** What edit adds: write workloads, pods/exec, service accounts; no roles or bindings. */
const EDIT_RULES: PolicyRule[] = [
  ...VIEW_RULES,
  { apiGroups: [''], resources: ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'configmaps', 'persistentvolumeclaims', 'services', 'serviceaccounts', 'replicationcontrollers', 'replicationcontrollers/scale'], verbs: WRITE },
  { apiGroups: [''], resources: ['secrets'], verbs: [...READ, ...WRITE] },
  { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] },
  { apiGroups: ['apps'], resources: ['deployments', 'deployments/scale', 'deployments/rollback', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale', 'daemonsets'], verbs: WRITE },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: WRITE },
];

/** What admin adds: roles and bindings of the namespace, access reviews in it. */
const ADMIN_RULES: PolicyRule[] = [
  ...EDIT_RULES,
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: ALL },
  { apiGroups: ['authorization.k8s.io'], resources: ['localsubjectaccessreviews'], verbs: ['create'] },
];

export interface BuiltinClusterRole {
  name: string;
  rules: PolicyRule[];
}

export const BUILTIN_CLUSTER_ROLES: readonly BuiltinClusterRole[] = [
  { name: 'cluster-admin', rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }] },
  { name: 'admin', rules: ADMIN_RULES },
  { name: 'edit', rules: EDIT_RULES },
  { name: 'view', rules: VIEW_RULES },
  {
    // Discovery and the version (kubectl reads them before anything else), as Kubernetes' system:discovery.
    name: 'system:discovery',
    rules: [{ nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'], verbs: ['get'] }],
  },
  {
    name: 'system:basic-user',
    rules: [
      { apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'] },
      { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] },
    ],
  },
  {
    // What a node needs over REST; reading its own Node is decided by the authorizer (by name).
    name: 'system:node',
    rules: [
      { apiGroups: ['certificates.k8s.io'], resources: ['certificatesigningrequests'], verbs: ['create'] },
      { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
      { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
      // The data plane (kube-proxy's and CoreDNS's part on every node) reads what Services there are.
      { apiGroups: [''], resources: ['services'], verbs: READ },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
    ],
  },
  { name: 'system:node-bootstrapper', rules: [{ apiGroups: ['certificates.k8s.io'], resources: ['certificatesigningrequests'], verbs: ['create'] }] },
];

const group = (name: string): Subject => ({ kind: 'Group', name, apiGroup: 'rbac.authorization.k8s.io' });

export const BUILTIN_CLUSTER_ROLE_BINDINGS: readonly { name: string; role: string; subjects: Subject[] }[] = [
  { name: 'cluster-admin', role: 'cluster-admin', subjects: [group(MASTERS_GROUP)] },
  { name: 'system:discovery', role: 'system:discovery', subjects: [group(AUTHENTICATED_GROUP)] },
  { name: 'system:basic-user', role: 'system:basic-user', subjects: [group(AUTHENTICATED_GROUP)] },
  { name: 'system:node', role: 'system:node', subjects: [group(NODES_GROUP)] },
  { name: 'system:node-bootstrapper', role: 'system:node-bootstrapper', subjects: [group(BOOTSTRAPPERS_GROUP)] },
];

/** Kubernetes marks its bootstrap policy with this label; corelet does too. */
export const BOOTSTRAPPING_LABEL = 'kubernetes.io/bootstrapping';

/** Creates the built-ins that are missing and restores changed ones. Returns how many it wrote. */
export function reconcileBuiltinRbac(store: Store): number {
  let written = 0;
  const put = (kind: 'ClusterRole' | 'ClusterRoleBinding', obj: ObjectInput & Record<string, unknown>, same: (cur: StoredObject) => boolean) => {
    const current = store.get(kind, '', obj.metadata.name as string);
    if (current && same(current)) return;
    written++;
    if (!current) store.create(kind, obj);
    else store.update(kind, { ...current, ...obj, metadata: { ...current.metadata, labels: { ...current.metadata.labels, ...obj.metadata.labels } } }, current.metadata.resourceVersion);
  };
  store.transaction(() => {
    for (const r of BUILTIN_CLUSTER_ROLES) {
      const obj = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: r.name, namespace: '', labels: { [BOOTSTRAPPING_LABEL]: 'rbac-defaults' } }, rules: r.rules };
      put('ClusterRole', obj, (cur) => JSON.stringify(cur.rules) === JSON.stringify(r.rules));
    }
    for (const b of BUILTIN_CLUSTER_ROLE_BINDINGS) {
      const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: b.role };
      const obj = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: b.name, namespace: '', labels: { [BOOTSTRAPPING_LABEL]: 'rbac-defaults' } }, subjects: b.subjects, roleRef };
      put('ClusterRoleBinding', obj, (cur) => JSON.stringify(cur.roleRef) === JSON.stringify(roleRef) && JSON.stringify(cur.subjects) === JSON.stringify(b.subjects));
    }
  });
  return written;
}
